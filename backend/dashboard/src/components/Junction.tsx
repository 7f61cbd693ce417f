/** A map-like schematic of one intersection: four arms, each with its queue drawn to scale. */
import type { QueueState } from "../types";

type Arm = "N" | "S" | "E" | "W";

const ARMS: Record<Arm, { x: number; y: number; dx: number; dy: number }> = {
  N: { x: 95, y: 80, dx: 0, dy: -1 },
  S: { x: 105, y: 120, dx: 0, dy: 1 },
  E: { x: 120, y: 95, dx: 1, dy: 0 },
  W: { x: 80, y: 105, dx: -1, dy: 0 },
};
const NAMES: Record<string, Arm> = { n: "N", north: "N", s: "S", south: "S", e: "E", east: "E", w: "W", west: "W" };
const MAX_LEN = 75;

/** Pixel length of a queue bar: 3 px per vehicle, capped at the arm's length. */
export function barLength(vehicles: number): number {
  return Math.min(MAX_LEN, Math.max(0, vehicles * 3));
}

/** The compass arm an approach name means: the simulator and the field nodes send
 * "N"/"S"/"E"/"W"; "north" etc. are accepted too. Anything else is not an arm. */
export function armOf(approach: string): Arm | null {
  return NAMES[approach.trim().toLowerCase()] ?? null;
}

/** Queue thresholds in vehicles, shared by the schematic and the city map's legend:
 * up to BUSY_VEH is ok, above it busy, above SPILL_VEH the queue spills back. */
export const BUSY_VEH = 5;
export const SPILL_VEH = 10;
export type QueueLevel = "none" | "low" | "mid" | "high";
export const LEVEL_NAMES: Record<QueueLevel, string> = { none: "no data", low: "ok", mid: "busy", high: "spill-back" };

export function queueLevel(vehicles: number | null | undefined): QueueLevel {
  if (vehicles === null || vehicles === undefined) return "none";
  return vehicles > SPILL_VEH ? "high" : vehicles > BUSY_VEH ? "mid" : "low";
}

const ORDER: string[] = ["N", "E", "S", "W"];
/** Approaches in compass order (N, E, S, W), then any others by name. */
export function byCompass(a: string, b: string): number {
  const ia = ORDER.indexOf(armOf(a) ?? "");
  const ib = ORDER.indexOf(armOf(b) ?? "");
  return (ia < 0 ? 9 : ia) - (ib < 0 ? 9 : ib) || a.localeCompare(b);
}

export function Junction({ name, queues }: { name: string; queues: Record<string, QueueState> }) {
  const byArm: Partial<Record<Arm, QueueState>> = {};
  const other: [string, QueueState][] = [];
  for (const [approach, q] of Object.entries(queues)) {
    const arm = armOf(approach);
    if (arm && !byArm[arm]) byArm[arm] = q;
    else other.push([approach, q]);
  }
  return (
    <svg viewBox="0 0 200 200" className="junction" role="img" aria-label={`intersection ${name}`}>
      <rect x="80" y="0" width="40" height="200" className="road" />
      <rect x="0" y="80" width="200" height="40" className="road" />
      {(Object.keys(ARMS) as Arm[]).map((arm) => {
        const g = ARMS[arm];
        const q = byArm[arm];
        const len = q ? barLength(q.vehicles) : 0;
        const w = g.dx ? len : 8;
        const h = g.dy ? len : 8;
        const x = g.dx < 0 ? g.x - len : g.dx > 0 ? g.x : g.x - 4;
        const y = g.dy < 0 ? g.y - len : g.dy > 0 ? g.y : g.y - 4;
        const level = queueLevel(q?.vehicles);
        const lx = 100 + g.dx * 85 + (g.dy ? 18 : 0);
        const ly = 100 + g.dy * 85 + (g.dx ? -12 : 4);
        return (
          <g key={arm}>
            <rect data-arm={arm} x={x} y={y} width={Math.max(w, 1)} height={Math.max(h, 1)} className={`queue-${level}`} />
            <text x={lx} y={ly} fontSize="10" textAnchor="middle" className="junction-label">
              {arm} {q ? q.vehicles.toFixed(1) : "—"}
            </text>
          </g>
        );
      })}
      {other.length ? (
        <text x="4" y="196" fontSize="9" className="junction-label">
          {other.map(([a, q]) => `${a}: ${q.vehicles.toFixed(1)}`).join(" · ")}
        </text>
      ) : null}
    </svg>
  );
}
