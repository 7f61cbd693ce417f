/** Per-approach queue length over the global time range for one intersection: the
 * minute rollups of ``/api/analytics/series?metric=queue`` (mean vehicles per bucket),
 * one line per approach, so an operator sees whether a queue is building or draining. */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, qs } from "../api";
import { time } from "../format";
import { useLoad } from "../hooks";
import { resolve, useRange } from "../stores/range";
import type { SeriesPoint } from "../types";
import { Empty } from "./Bits";

const COLOURS = ["#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#64748b"];

/** Buckets of several approaches side by side: one row per time, one column per approach. */
export function byTime(series: Record<string, SeriesPoint[]>): Record<string, number>[] {
  const rows = new Map<number, Record<string, number>>();
  for (const [approach, points] of Object.entries(series)) {
    for (const p of points) {
      if (p.mean === null) continue;
      const row = rows.get(p.t) ?? { t: p.t };
      row[approach] = p.mean;
      rows.set(p.t, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.t - b.t);
}

/** Bucket seconds for a span: about 60 points, never finer than the minute rollup. */
export function bucketFor(spanS: number): number {
  return Math.max(60, Math.ceil(spanS / 60 / 60) * 60);
}

export function QueueHistory({ intersection, approaches }: { intersection: string; approaches: string[] }) {
  const sel = useRange((s) => s.sel);
  const key = approaches.join(",");
  const { data, error } = useLoad(async () => {
    const { since, until } = resolve(sel);
    const now = Date.now() / 1000;
    const bucket_s = bucketFor((until ?? now) - (since ?? now - 86_400));
    const series: Record<string, SeriesPoint[]> = {};
    for (const approach of approaches) {
      const r = await api<{ points: SeriesPoint[] }>(`/api/analytics/series${qs({ metric: "queue", intersection, approach, bucket_s, since, until })}`);
      series[approach] = r.points;
    }
    return byTime(series);
  }, [intersection, key, sel], 30_000);
  if (error) return <p className="note">Queue history unavailable: {error}</p>;
  if (!data) return <p className="note">Loading queue history…</p>;
  if (!data.length) return <Empty>No queue observation in this range.</Empty>;
  return (
    <div className="queue-history" data-testid={`queue-history-${intersection}`}>
      <ResponsiveContainer width="100%" height={160}>
        <LineChart data={data}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="t" tickFormatter={(t: number) => time(t)} minTickGap={40} />
          <YAxis width={36} allowDecimals={false} />
          <Tooltip labelFormatter={(t) => time(Number(t))} formatter={(v: number) => `${v.toFixed(1)} veh`} />
          <Legend />
          {approaches.map((a, i) => (
            <Line key={a} dataKey={a} name={a} stroke={COLOURS[i % COLOURS.length]} dot={false} isAnimationActive={false} connectNulls />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
