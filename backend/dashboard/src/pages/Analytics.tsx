/** Time-bucketed series and distributions read from the backend's per-minute rollups. */
import { useMemo, useState } from "react";
import { Area, Bar, BarChart, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, qs } from "../api";
import { Empty, LoadError, TimeRange, type Range } from "../components/Bits";
import { dateTime } from "../format";
import { useLoad } from "../hooks";
import { resolve, useRange } from "../stores/range";
import type { SeriesPoint } from "../types";

type Metric = "detections" | "queue" | "anomalies";
const BUCKETS = [60, 300, 900, 3600, 21_600, 86_400];

/** The bucket that keeps a range under about 300 points (the rollups are per minute). */
export function autoBucket(range: Range, now = Date.now() / 1000): number {
  const span = (range.until ?? now) - (range.since ?? now - 86_400 * 90);
  return BUCKETS.find((b) => span / b <= 300) ?? BUCKETS[BUCKETS.length - 1];
}

export default function Analytics() {
  const [metric, setMetric] = useState<Metric>("detections");
  const sel = useRange((s) => s.sel);
  const range: Range = useMemo(() => resolve(sel), [sel]);
  const [bucket, setBucket] = useState<number | "auto">("auto");
  const [by, setBy] = useState<"cls" | "node_id" | "intersection" | "approach">("cls");
  const bucketS = bucket === "auto" ? autoBucket(range) : bucket;
  const series = useLoad(
    () => api<{ points: SeriesPoint[]; bucket_s: number }>(`/api/analytics/series${qs({ metric, bucket_s: bucketS, since: range.since, until: range.until })}`),
    [metric, bucketS, range.since, range.until],
  );
  const dist = useLoad(
    () => api<{ items: { key: string; n: number; mean: number | null; max: number }[] }>(`/api/analytics/distribution${qs({ metric, by, since: range.since, until: range.until, limit: 30 })}`),
    [metric, by, range.since, range.until],
  );
  const points = series.data?.points ?? [];
  const valueLabel = metric === "queue" ? "mean vehicles" : "count";

  return (
    <div>
      <div className="toolbar">
        <h2>Analytics</h2>
        <select aria-label="metric" value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
          <option value="detections">detections</option>
          <option value="queue">queue length</option>
          <option value="anomalies">anomalies</option>
        </select>
        <select aria-label="bucket" value={bucket} onChange={(e) => setBucket(e.target.value === "auto" ? "auto" : Number(e.target.value))}>
          <option value="auto">auto bucket ({bucketS / 60} min)</option>
          {BUCKETS.map((b) => (
            <option key={b} value={b}>
              {b / 60} min
            </option>
          ))}
        </select>
        <TimeRange />
      </div>
      <LoadError error={series.error ?? dist.error} />
      <h3>{metric} per {bucketS / 60}-minute bucket</h3>
      {points.length ? (
        <div style={{ height: 300 }} data-testid="series-chart">
          <ResponsiveContainer>
            <ComposedChart data={points.map((p) => ({ ...p, value: metric === "queue" ? p.mean : p.n }))}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="t" tickFormatter={(t) => dateTime(Number(t))} minTickGap={60} />
              <YAxis />
              <Tooltip labelFormatter={(t) => dateTime(Number(t))} />
              <Legend />
              <Area dataKey="value" name={valueLabel} fill="#bfdbfe" stroke="#3b82f6" isAnimationActive={false} />
              {metric !== "detections" ? <Line dataKey="max" name="max" stroke="#ef4444" dot={false} isAnimationActive={false} /> : null}
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      ) : (
        <Empty>{series.loading ? "Loading…" : "No rollups in this range."}</Empty>
      )}
      <div className="toolbar">
        <h3>Distribution by</h3>
        <select aria-label="distribution by" value={by} onChange={(e) => setBy(e.target.value as typeof by)}>
          <option value="cls">class</option>
          <option value="node_id">node</option>
          <option value="intersection">intersection</option>
          <option value="approach">approach</option>
        </select>
      </div>
      {dist.data?.items.length ? (
        <div style={{ height: 260 }}>
          <ResponsiveContainer>
            <BarChart data={dist.data.items}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="key" />
              <YAxis />
              <Tooltip />
              <Bar dataKey={metric === "queue" ? "mean" : "n"} name={valueLabel} fill="#6366f1" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      ) : (
        <Empty>No data to distribute.</Empty>
      )}
      <p className="note">
        EDGE-QI against baseline: the backend stores the traffic of the deployment it serves (one policy), so it has no
        baseline series to compare with. Policy comparisons (bandwidth reduction, energy saving) come from
        <code> edgeqi run</code> and <code>edgeqi report</code> summaries.
      </p>
    </div>
  );
}
