/**
 * Live state fed by the backend's WebSocket push: the latest system status (with a
 * bounded history for charts), detections per second, newest heartbeat per node and
 * the alerts that fired while the page was open. Pure reducers are exported for tests.
 */
import { create } from "zustand";
import type { Alert, Heartbeat, SystemStatus } from "../types";

export interface StatusPoint {
  t: number;
  detectionsPerMin: number;
  latencyMs: number | null;
  activeNodes: number;
  ingestKbps: number;
}

export interface LiveState {
  connected: boolean;
  status: SystemStatus | null;
  history: StatusPoint[];
  detectionBins: { t: number; n: number }[];
  heartbeats: Record<string, Heartbeat>;
  alerts: Alert[];
  maxPoints: number;
  setConnected: (c: boolean) => void;
  setMaxPoints: (n: number) => void;
  onEvent: (topic: string, data: unknown) => void;
  reset: () => void;
}

export function statusPoint(s: SystemStatus): StatusPoint {
  return {
    t: s.computed_at_ms,
    detectionsPerMin: s.detections_last_2min / 2,
    latencyMs: s.latency_ms_mean_last_min,
    activeNodes: s.active_nodes,
    ingestKbps: s.ingest_kbps_last_min,
  };
}

/** Append ``p`` keeping at most ``max`` points, dropping a repeat of the same timestamp. */
export function appendBounded<T extends { t: number }>(list: T[], p: T, max: number): T[] {
  const base = list.length && list[list.length - 1].t === p.t ? list.slice(0, -1) : list;
  const next = [...base, p];
  return next.length > max ? next.slice(next.length - max) : next;
}

/** Count ``n`` detections into one-second bins (wall clock of arrival). */
export function addDetections(bins: { t: number; n: number }[], atMs: number, n: number, max: number) {
  const t = Math.floor(atMs / 1000) * 1000;
  const last = bins[bins.length - 1];
  if (last && last.t === t) return [...bins.slice(0, -1), { t, n: last.n + n }];
  return appendBounded(bins, { t, n }, max);
}

const empty = {
  connected: false,
  status: null,
  history: [] as StatusPoint[],
  detectionBins: [] as { t: number; n: number }[],
  heartbeats: {} as Record<string, Heartbeat>,
  alerts: [] as Alert[],
};

export const useLive = create<LiveState>()((set, get) => ({
  ...empty,
  maxPoints: 120,
  setConnected: (connected) => set({ connected }),
  setMaxPoints: (maxPoints) => set({ maxPoints }),
  reset: () => set({ ...empty }),
  onEvent(topic, data) {
    const max = get().maxPoints;
    if (topic === "system") {
      const s = data as SystemStatus;
      set((st) => ({ status: s, history: appendBounded(st.history, statusPoint(s), max) }));
    } else if (topic === "detections") {
      const d = data as { count: number };
      set((st) => ({ detectionBins: addDetections(st.detectionBins, Date.now(), d.count, max) }));
    } else if (topic === "nodes") {
      const m = data as { kind?: string; node_id: string };
      if (m.kind === "heartbeat") {
        set((st) => ({ heartbeats: { ...st.heartbeats, [m.node_id]: data as Heartbeat } }));
      }
    } else if (topic === "alerts") {
      const a = data as Alert;
      set((st) => ({ alerts: [a, ...st.alerts].slice(0, 200) }));
    }
  },
}));

/** Keeps one WebSocket open while signed in; reconnects with capped backoff. */
export class LiveSocket {
  private ws: WebSocket | null = null;
  private retry = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private token: () => string | null,
    private url: (token: string) => string = (t) =>
      `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?token=${encodeURIComponent(t)}`,
  ) {}

  start(): void {
    this.closed = false;
    this.open();
  }

  stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
    this.ws = null;
  }

  private open(): void {
    const token = this.token();
    if (!token || this.closed) return;
    const ws = new WebSocket(this.url(token));
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      useLive.getState().setConnected(true);
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as { topic: string; data: unknown };
      useLive.getState().onEvent(msg.topic, msg.data);
    };
    ws.onclose = () => {
      useLive.getState().setConnected(false);
      if (this.closed) return;
      const delay = Math.min(10_000, 500 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
