/** Scrub through the stored time range and see the city as it was at each moment. */
import { useEffect, useState } from "react";
import { api, qs } from "../api";
import { Empty, LoadError } from "../components/Bits";
import { Junction } from "../components/Junction";
import { dateTime, pct, time } from "../format";
import { useDebounced, useLoad } from "../hooks";
import type { QueueState } from "../types";

interface Frame {
  t: number;
  nodes: { node_id: string; ts: number; battery_soc: number; mode: string; tier_kbps: number; rtt_ms: number }[];
  queues: Record<string, Record<string, QueueState>>;
  detections: Record<string, Record<string, number>>;
  anomalies: { node_id: string; ts: number; intersection: string; approach: string; anomaly: string; score: number }[];
  alerts: { id: number; node_id: string; severity: string; message: string; created_ms: number }[];
}

const SPEEDS = [1, 10, 60, 300];

/** Next playback time: ``t`` advanced by ``dt`` seconds, stopping at ``end``. */
export function advance(t: number, dt: number, end: number): { t: number; done: boolean } {
  const next = t + dt;
  return next >= end ? { t: end, done: true } : { t: next, done: false };
}

export default function Playback() {
  const range = useLoad(() => api<{ start: number | null; end: number | null }>("/api/playback/range"), []);
  const [t, setT] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(10);
  const [windowS, setWindowS] = useState(60);
  const start = range.data?.start ?? null;
  const end = range.data?.end ?? null;
  const at = useDebounced(t, 120);

  useEffect(() => {
    if (t === null && start !== null && end !== null) setT(Math.max(start, end - 300));
  }, [start, end, t]);

  useEffect(() => {
    if (!playing || end === null) return;
    const id = setInterval(() => {
      setT((cur) => {
        const step = advance(cur ?? end, speed / 2, end);
        if (step.done) setPlaying(false);
        return step.t;
      });
    }, 500);
    return () => clearInterval(id);
  }, [playing, speed, end]);

  const frame = useLoad(
    () => (at === null ? Promise.resolve(null) : api<Frame>(`/api/playback/frame${qs({ t: at, window_s: windowS })}`)),
    [at, windowS],
  );
  if (range.data && start === null) return <Empty>Nothing stored yet to play back.</Empty>;
  const f = frame.data;
  const places = f ? Array.from(new Set([...Object.keys(f.queues), ...Object.keys(f.detections)])).sort() : [];

  return (
    <div>
      <div className="toolbar">
        <h2>Playback</h2>
        <button onClick={() => setPlaying(!playing)} data-testid="play">{playing ? "Pause" : "Play"}</button>
        <select aria-label="speed" value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
          {SPEEDS.map((s) => <option key={s} value={s}>{s}×</option>)}
        </select>
        <select aria-label="window" value={windowS} onChange={(e) => setWindowS(Number(e.target.value))}>
          {[10, 60, 300].map((w) => <option key={w} value={w}>{w}s window</option>)}
        </select>
        <span data-testid="playback-time">{t !== null ? dateTime(t) : "—"}</span>
      </div>
      {start !== null && end !== null && t !== null ? (
        <input
          className="scrubber"
          type="range"
          aria-label="playback position"
          min={start}
          max={end}
          step={1}
          value={t}
          onChange={(e) => {
            setPlaying(false);
            setT(Number(e.target.value));
          }}
        />
      ) : null}
      <div className="scrub-labels"><span>{dateTime(start)}</span><span>{dateTime(end)}</span></div>
      <LoadError error={range.error ?? frame.error} />
      {f ? (
        <>
          <div className="cards">
            {places.map((p) => (
              <section key={p} className="card" data-testid={`frame-${p}`}>
                <h3>{p}</h3>
                <div className="card-row">
                  <Junction name={p} queues={f.queues[p] ?? {}} />
                  <ul className="plain">
                    {Object.entries(f.detections[p] ?? {}).map(([cls, n]) => <li key={cls}>{cls}: {n}</li>)}
                  </ul>
                </div>
              </section>
            ))}
            {!places.length ? <Empty>No queue or detection in this window.</Empty> : null}
          </div>
          <h3>Nodes at {time(f.t)}</h3>
          <div className="table-wrap">
            <table className="table" data-testid="frame-nodes">
              <thead><tr><th>node</th><th>heartbeat</th><th>battery</th><th>mode</th><th>tier</th><th>RTT</th></tr></thead>
              <tbody>
                {f.nodes.map((n) => (
                  <tr key={n.node_id}><td>{n.node_id}</td><td>{time(n.ts)}</td><td>{pct(n.battery_soc)}</td><td>{n.mode}</td><td>{n.tier_kbps}</td><td>{n.rtt_ms.toFixed(0)} ms</td></tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3>Anomalies and alerts in the window</h3>
          <ul className="plain">
            {f.anomalies.map((a, i) => <li key={`a${i}`}>{time(a.ts)} {a.node_id} {a.intersection}/{a.approach} {a.anomaly} score {a.score.toFixed(1)}</li>)}
            {f.alerts.map((a) => <li key={`l${a.id}`} className={`sev-${a.severity}`}>{new Date(a.created_ms).toLocaleTimeString()} {a.node_id} {a.message}</li>)}
            {!f.anomalies.length && !f.alerts.length ? <li>none</li> : null}
          </ul>
        </>
      ) : null}
    </div>
  );
}
