/** PBFT activity as stored by ingest: rounds, votes per phase, view changes, rejections, suspects. */
import { useState } from "react";
import { api, qs } from "../api";
import { Empty, LoadError, TimeRange } from "../components/Bits";
import { time } from "../format";
import { useLoad } from "../hooks";
import { resolve, useRange } from "../stores/range";

interface Summary {
  clusters: { cluster: string; rounds: number; views: number[]; view_changes: number }[];
  suspected: { cluster: string; node_id: string; disagreements: number }[];
  rejected: Record<string, number>;
}

interface RoundRow {
  cluster: string;
  view: number;
  number: number;
  messages: number;
  nodes: number;
  phases: number;
  /** Distinct digests over all phases: a healthy round has several (the reports'
   * placeholder, the proposal, the checkpoint's state digest). */
  digests: number;
  /** Phases in which nodes sent different digests: disagreement or equivocation. */
  conflicts: number;
  first_ts: number;
  duration_ms: number;
}

interface RoundDetail {
  messages: { node_id: string; seq: number; phase: string; digest: string; ts: number }[];
}

/** "1 (view 0)", "2 (views 0, 1)": how many views, then which. */
export function viewsSeen(views: number[]): string {
  return `${views.length} (view${views.length === 1 ? "" : "s"} ${views.join(", ")})`;
}

export default function Consensus() {
  const sel = useRange((st) => st.sel);
  // Resolved at each poll: a preset slides with the clock. The API takes a start only;
  // the rounds list is cut at the end here, the summary is not.
  const summary = useLoad(() => api<Summary>(`/api/consensus/summary${qs({ since: resolve(sel).since })}`), [sel], 5000);
  const rounds = useLoad(async () => {
    const { since, until } = resolve(sel);
    const r = await api<{ items: RoundRow[] }>(`/api/consensus/rounds${qs({ limit: 200, since })}`);
    return until === null ? r : { items: r.items.filter((x) => x.first_ts <= until) };
  }, [sel], 5000);
  const [open, setOpen] = useState<RoundRow | null>(null);
  const detail = useLoad(
    () => (open ? api<RoundDetail>(`/api/consensus/rounds/${encodeURIComponent(open.cluster)}/${open.view}/${open.number}`) : Promise.resolve(null)),
    [open],
  );
  const s = summary.data;
  const empty = s && !s.clusters.length && !Object.keys(s.rejected).length;

  return (
    <div>
      <div className="toolbar">
        <h2>Consensus</h2>
        <TimeRange />
      </div>
      {sel.until !== null ? <p className="note">The summary counts every round since the range's start; its end applies to the rounds listed.</p> : null}
      <LoadError error={summary.error ?? rounds.error} />
      {empty ? (
        <Empty>
          No consensus traffic has been stored yet. Rounds, votes, view changes and suspected Byzantine nodes appear here once the
          cameras of an intersection run PBFT and publish their consensus messages.
        </Empty>
      ) : null}
      {s && !empty ? (
        <>
          <div className="table-wrap">
            <table className="table">
              <thead><tr><th>cluster</th><th>rounds</th><th>views seen</th><th>view changes</th></tr></thead>
              <tbody>
                {s.clusters.map((c) => (
                  <tr key={c.cluster}>
                    <td>{c.cluster}</td><td>{c.rounds}</td><td data-testid={`views-${c.cluster}`}>{viewsSeen(c.views)}</td>
                    <td className={c.view_changes ? "warn" : ""}>{c.view_changes}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3>Rejected messages</h3>
          {Object.keys(s.rejected).length ? (
            <ul className="plain">{Object.entries(s.rejected).map(([r, n]) => <li key={r}>{r}: {n}</li>)}</ul>
          ) : (
            <p className="note">None quarantined.</p>
          )}
          <h3>Suspected Byzantine nodes</h3>
          {s.suspected.length ? (
            <ul className="plain">{s.suspected.map((x) => <li key={x.cluster + x.node_id}>{x.node_id} in {x.cluster}: disagreed with the majority digest in {x.disagreements} rounds</li>)}</ul>
          ) : (
            <p className="note">No node disagreed with its cluster's majority.</p>
          )}
        </>
      ) : null}
      {rounds.data?.items.length ? (
        <>
          <h3>Rounds</h3>
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th>cluster</th><th>view</th><th>round</th><th>messages</th><th>nodes</th><th>phases</th>
                  <th title="distinct digests over all phases (reports, proposal, checkpoint)">digests</th>
                  <th title="phases in which nodes sent different digests">split phases</th><th>started</th><th>duration</th>
                </tr>
              </thead>
              <tbody>
                {rounds.data.items.map((r) => (
                  <tr key={`${r.cluster}/${r.view}/${r.number}`} onClick={() => setOpen(r)} className="sortable" data-testid={`round-${r.cluster}-${r.view}-${r.number}`}>
                    <td>{r.cluster}</td><td>{r.view}</td><td>{r.number}</td><td>{r.messages}</td><td>{r.nodes}</td><td>{r.phases}</td>
                    <td>{r.digests}</td><td className={r.conflicts > 0 ? "warn" : ""}>{r.conflicts}</td>
                    <td>{time(r.first_ts)}</td><td>{r.duration_ms} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
      {open && detail.data ? (
        <div className="detail">
          <h3>Votes in {open.cluster} view {open.view} round {open.number}</h3>
          <div className="table-wrap">
            <table className="table">
              <thead><tr><th>time</th><th>node</th><th>phase</th><th>digest</th></tr></thead>
              <tbody>
                {detail.data.messages.map((m) => (
                  <tr key={`${m.node_id}/${m.seq}`}><td>{time(m.ts)}</td><td>{m.node_id}</td><td>{m.phase}</td><td><code>{m.digest.slice(0, 16)}</code></td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ) : null}
    </div>
  );
}
