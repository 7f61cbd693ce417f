/** Shapes of the backend's JSON responses the dashboard reads. */

export type Role = "viewer" | "operator" | "admin";

export interface SystemStatus {
  nodes: number;
  active_nodes: number;
  messages_total: number;
  messages_lost: number;
  detections_total: number;
  detections_last_2min: number;
  messages_last_min: number;
  ingest_kbps_last_min: number;
  latency_ms_mean_last_min: number | null;
  bytes_received_total: number;
  observations_not_transmitted_fraction: number | null;
  power_w_mean_active: number | null;
  battery_soc_mean_active: number | null;
  quarantined_total: number;
  alerts_open: number;
  ingest_pending: number;
  uptime_s: number;
  computed_at_ms: number;
}

export interface NodeOut {
  node_id: string;
  intersection: string | null;
  registered: boolean;
  active: boolean;
  first_seen_ms: number | null;
  last_seen_ms: number | null;
  received: number;
  lost: number;
  bytes_received: number;
  discarded: number;
  deferred: number;
  dropped: number;
  battery_soc: number | null;
  power_w: number | null;
  mode: string | null;
  tier_kbps: number | null;
  rtt_ms: number | null;
  bandwidth_kbps: number | null;
  link_loss: number | null;
  uptime_s: number | null;
  /** Where the node stands (node.yaml ``location``, or the simulator's city layout); null until it says. */
  location: { lat: number; lon: number } | null;
  /** The approach its camera watches ("N", "S", "E", "W"), when it said. */
  approach: string | null;
}

export interface Heartbeat {
  node_id: string;
  seq: number;
  ts: number;
  kind: "heartbeat";
  battery_soc: number;
  power_w: number;
  mode: string;
  tier_kbps: number;
  link: { rtt_ms: number; bandwidth_kbps: number; loss: number };
  cpu?: number | null;
  mem_mb?: number | null;
  temp_c?: number | null;
}

export interface Detection {
  id: number;
  node_id: string;
  seq: number;
  idx: number;
  ts: number;
  received_ms: number;
  intersection: string;
  cls: string;
  conf: number;
  box: [number, number, number, number];
  track: number | null;
}

export interface LogEntry {
  id: number;
  node_id: string;
  seq: number | null;
  ts: number;
  received_ms: number;
  level: string;
  logger: string;
  message: string;
}

export type AlertState = "pending" | "firing" | "resolved";

/** One alert over its life (backend/api/alert_schemas.py AlertOut); times in epoch ms. */
export interface Alert {
  id: number;
  rule_id: number | null;
  node_id: string;
  intersection: string | null;
  approach: string | null;
  severity: string;
  state: AlertState;
  message: string;
  value: number;
  created_ms: number;
  fired_ms: number | null;
  resolved_ms: number | null;
  updated_ms: number | null;
  acknowledged: boolean;
  acknowledged_by: string | null;
  acknowledged_ms: number | null;
  silence_id: number | null;
}

export interface Silence {
  id: number;
  rule_id: number | null;
  node_id: string | null;
  intersection: string | null;
  starts_ms: number;
  ends_ms: number;
  comment: string;
  created_by: string;
  created_ms: number;
  active: boolean;
}

export interface Rule {
  id: number;
  name: string;
  metric: string;
  op: string;
  threshold: number;
  node_id: string | null;
  severity: "info" | "warning" | "critical";
  action: "notify" | "webhook";
  webhook_url: string | null;
  cooldown_s: number;
  for_s: number;
  enabled: boolean;
  created_ms: number;
}

export interface SeriesPoint {
  t: number;
  n: number;
  sum: number;
  mean: number | null;
  max: number;
}

export interface LayoutItem {
  i: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface SiteSettings {
  site_name: string;
  default_range_min: number;
  live_points: number;
  status_poll_s: number;
  low_battery_soc: number;
}

export interface UserPrefs {
  layout: LayoutItem[];
  hidden: string[];
}

export interface QueueState {
  node_id: string;
  ts: number;
  vehicles: number;
  length_m: number;
  wait_s: number | null;
}
