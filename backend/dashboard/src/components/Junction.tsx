/** A map-like schematic of one intersection: four arms, each with its queue drawn to scale. */
import type { QueueState } from "../types";

const ARMS: Record<string, { x: number; y: number; dx: number; dy: number }> = {
  north: { x: 95, y: 80, dx: 0, dy: -1 },
  south: { x: 105, y: 120, dx: 0, dy: 1 },
  east: { x: 120, y: 95, dx: 1, dy: 0 },
  west: { x: 80, y: 105, dx: -1, dy: 0 },
};
const MAX_LEN = 75;

/** Pixel length of a queue bar: 3 px per vehicle, capped at the arm's length. */
export function barLength(vehicles: number): number {
  return Math.min(MAX_LEN, Math.max(0, vehicles * 3));
}

export function Junction({ name, queues }: { name: string; queues: Record<string, QueueState> }) {
  const other = Object.keys(queues).filter((a) => !(a in ARMS));
  return (
    <svg viewBox="0 0 200 200" className="junction" role="img" aria-label={`intersection ${name}`}>
      <rect x="80" y="0" width="40" height="200" fill="#e5e7eb" />
      <rect x="0" y="80" width="200" height="40" fill="#e5e7eb" />
      {Object.entries(ARMS).map(([arm, g]) => {
        const q = queues[arm];
        const len = q ? barLength(q.vehicles) : 0;
        const w = g.dx ? len : 8;
        const h = g.dy ? len : 8;
        const x = g.dx < 0 ? g.x - len : g.dx > 0 ? g.x : g.x - 4;
        const y = g.dy < 0 ? g.y - len : g.dy > 0 ? g.y : g.y - 4;
        const color = !q ? "#9ca3af" : q.vehicles > 10 ? "#ef4444" : q.vehicles > 5 ? "#f59e0b" : "#10b981";
        const lx = 100 + g.dx * 85 + (g.dy ? 18 : 0);
        const ly = 100 + g.dy * 85 + (g.dx ? -12 : 4);
        return (
          <g key={arm}>
            <rect x={x} y={y} width={Math.max(w, 1)} height={Math.max(h, 1)} fill={color} />
            <text x={lx} y={ly} fontSize="10" textAnchor="middle">
              {arm[0].toUpperCase()} {q ? q.vehicles.toFixed(1) : "—"}
            </text>
          </g>
        );
      })}
      {other.length ? (
        <text x="4" y="196" fontSize="9">
          {other.map((a) => `${a}: ${queues[a].vehicles.toFixed(1)}`).join(" · ")}
        </text>
      ) : null}
    </svg>
  );
}
