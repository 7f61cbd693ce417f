/**
 * The city map's geometry and status, pure so that tests can check them without a
 * browser: nodes' coordinates projected onto the SVG, each intersection at the centroid
 * of its placed cameras, each camera's health, and which markers carry an open alert.
 */
import { queueLevel, type QueueLevel } from "./components/Junction";
import type { Alert, NodeOut, QueueState } from "./types";

export interface LatLon {
  lat: number;
  lon: number;
}

export interface Point {
  x: number;
  y: number;
}

/** The SVG's width in user units; its height follows the placed nodes' shape. */
export const VIEW_W = 480;
export const VIEW_PAD = 40;
const MIN_H = 240;
const MAX_H = 480;

export interface Frame {
  width: number;
  height: number;
  project: (p: LatLon) => Point;
}

/** An equirectangular projection (east scaled by the cosine of the mean latitude) fitted
 * to the points' bounding box with one scale for both axes, centred, north up. A single
 * point, or all points at one place, lands in the middle. */
export function fitFrame(points: LatLon[]): Frame {
  if (!points.length) return { width: VIEW_W, height: MIN_H, project: () => ({ x: VIEW_W / 2, y: MIN_H / 2 }) };
  const lats = points.map((p) => p.lat);
  const minLat = Math.min(...lats);
  const maxLat = Math.max(...lats);
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const east = (p: LatLon) => p.lon * k;
  const xs = points.map(east);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const spanX = maxX - minX;
  const spanY = maxLat - minLat;
  const inner = VIEW_W - 2 * VIEW_PAD;
  const height = spanX > 0 ? Math.min(MAX_H, Math.max(MIN_H, Math.round((inner * spanY) / spanX) + 2 * VIEW_PAD)) : spanY > 0 ? MAX_H : MIN_H;
  // Degrees to user units; 0 when every point is at one place (all drawn in the middle).
  const fits = [spanX > 0 ? inner / spanX : null, spanY > 0 ? (height - 2 * VIEW_PAD) / spanY : null].filter((v): v is number => v !== null);
  const scale = fits.length ? Math.min(...fits) : 0;
  const cx = (minX + maxX) / 2;
  const cy = (minLat + maxLat) / 2;
  return {
    width: VIEW_W,
    height,
    project: (p) => ({ x: VIEW_W / 2 + (east(p) - cx) * scale, y: height / 2 - (p.lat - cy) * scale }),
  };
}

export type Health = "active" | "battery" | "silent" | "offline";

/** Not heard within the backend's active window but within this long: silent, else offline. */
export const SILENT_MS = 5 * 60_000;
export const HEALTH_NAMES: Record<Health, string> = { active: "active", battery: "battery low", silent: "silent", offline: "offline" };

/** A camera's health: offline beats silent beats a low battery (a node not heard from
 * has no battery reading worth showing), else active. */
export function healthOf(n: Pick<NodeOut, "active" | "last_seen_ms" | "battery_soc">, lowSoc: number, now: number): Health {
  if (!n.active) return n.last_seen_ms !== null && now - n.last_seen_ms <= SILENT_MS ? "silent" : "offline";
  return n.battery_soc !== null && n.battery_soc < lowSoc ? "battery" : "active";
}

export interface PlacedCamera {
  node: NodeOut;
  location: LatLon;
  at: Point;
  health: Health;
  alerts: Alert[];
}

export interface PlacedJunction {
  name: string;
  at: Point;
  queues: Record<string, QueueState>;
  /** The longest queue of any approach (vehicles), or null without an observation. */
  worst: number | null;
  level: QueueLevel;
  cameras: PlacedCamera[];
  /** Open alerts naming this intersection. */
  alerts: Alert[];
}

export interface CityLayout {
  frame: Frame;
  cameras: PlacedCamera[];
  junctions: PlacedJunction[];
  /** Nodes without a location, by id. */
  unplaced: string[];
}

/** Everything the map draws, from the API's nodes, intersections and open alerts. */
export function layoutCity(
  nodes: NodeOut[],
  intersections: { intersection: string; queues: Record<string, QueueState> }[],
  alerts: Alert[],
  lowSoc: number,
  now: number,
): CityLayout {
  const placed = nodes.filter((n): n is NodeOut & { location: LatLon } => n.location !== null);
  const frame = fitFrame(placed.map((n) => n.location));
  const cameras = placed.map((node) => ({
    node,
    location: node.location,
    at: frame.project(node.location),
    health: healthOf(node, lowSoc, now),
    alerts: alerts.filter((a) => a.node_id === node.node_id),
  }));
  const queues = new Map(intersections.map((i) => [i.intersection, i.queues]));
  const groups = new Map<string, PlacedCamera[]>();
  for (const c of cameras) {
    if (c.node.intersection !== null) groups.set(c.node.intersection, [...(groups.get(c.node.intersection) ?? []), c]);
  }
  const junctions = [...groups].map(([name, cams]) => {
    const mean = (f: (p: LatLon) => number) => cams.reduce((s, c) => s + f(c.location), 0) / cams.length;
    const q = queues.get(name) ?? {};
    const vehicles = Object.values(q).map((s) => s.vehicles);
    const worst = vehicles.length ? Math.max(...vehicles) : null;
    return {
      name,
      at: frame.project({ lat: mean((p) => p.lat), lon: mean((p) => p.lon) }),
      queues: q,
      worst,
      level: queueLevel(worst),
      cameras: cams,
      alerts: alerts.filter((a) => a.intersection === name),
    };
  });
  junctions.sort((a, b) => a.name.localeCompare(b.name));
  return { frame, cameras, junctions, unplaced: nodes.filter((n) => n.location === null).map((n) => n.node_id) };
}
