/** Each intersection: its cameras, queue per approach, signal plan and last consensus decision. */
import { useEffect } from "react";
import { useSearchParams } from "react-router-dom";
import { api } from "../api";
import { Empty, LoadError, TimeRange } from "../components/Bits";
import { QueueHistory } from "../components/QueueHistory";
import { byCompass, Junction } from "../components/Junction";
import { ago, pct, time } from "../format";
import { useLoad } from "../hooks";
import type { QueueState } from "../types";

interface Camera {
  node_id: string;
  active: boolean;
  mode: string | null;
  battery_soc: number | null;
  last_seen_ms: number | null;
}

export interface IntersectionView {
  intersection: string;
  cameras: Camera[];
  queues: Record<string, QueueState>;
  signal_plan: { action: string; params: Record<string, unknown>; ts: number; from: string } | null;
  consensus: { view: number; number: number; ts: number; phases: string[]; nodes: string[]; digest: string } | null;
}

export default function Intersections() {
  const { data, error } = useLoad(() => api<{ items: IntersectionView[] }>("/api/intersections"), [], 3000);
  // ?intersection= (the city map's link) marks that card and scrolls to it once loaded.
  const wanted = useSearchParams()[0].get("intersection");
  const loaded = data !== null;
  useEffect(() => {
    if (wanted && loaded) document.getElementById(`intersection-${wanted}`)?.scrollIntoView({ block: "start" });
  }, [wanted, loaded]);
  return (
    <div>
      <div className="toolbar">
        <h2>Intersections</h2>
        <TimeRange />
      </div>
      <LoadError error={error} />
      {data && !data.items.length ? <Empty>No intersection has reported yet.</Empty> : null}
      <div className="cards">
        {data?.items.map((it) => (
          <section
            key={it.intersection}
            id={`intersection-${it.intersection}`}
            className={it.intersection === wanted ? "card chosen" : "card"}
            data-testid={`intersection-${it.intersection}`}
          >
            <h3>{it.intersection}</h3>
            <div className="card-row">
              <Junction name={it.intersection} queues={it.queues} />
              <div>
                <h4>Queues</h4>
                <ul className="plain">
                  {Object.entries(it.queues).sort(([a], [b]) => byCompass(a, b)).map(([a, q]) => (
                    <li key={a}>
                      {a}: {q.vehicles.toFixed(1)} veh, {q.length_m.toFixed(0)} m{q.wait_s != null ? `, wait ${q.wait_s.toFixed(0)} s` : ""} ({time(q.ts)})
                    </li>
                  ))}
                  {!Object.keys(it.queues).length ? <li>no queue observation in the last hour</li> : null}
                </ul>
                <h4>Cameras</h4>
                <ul className="plain">
                  {it.cameras.map((c) => (
                    <li key={c.node_id}>
                      <span className={c.active ? "dot ok" : "dot"} /> {c.node_id} · {c.mode ?? "?"} · battery {pct(c.battery_soc)} · {ago(c.last_seen_ms)}
                    </li>
                  ))}
                </ul>
                <h4>Signal plan</h4>
                {it.signal_plan ? (
                  <p>
                    {it.signal_plan.action} {JSON.stringify(it.signal_plan.params)} from {it.signal_plan.from} at {time(it.signal_plan.ts)}
                  </p>
                ) : (
                  <p className="note">No signal-plan command stored for this intersection.</p>
                )}
                <h4>Last consensus decision</h4>
                {it.consensus ? (
                  <p>
                    view {it.consensus.view}, round {it.consensus.number} at {time(it.consensus.ts)}: digest <code>{it.consensus.digest.slice(0, 16)}</code>,
                    phases {it.consensus.phases.join(", ")}, {it.consensus.nodes.length} nodes
                  </p>
                ) : (
                  <p className="note">No consensus round stored for this intersection; decisions appear here once its cameras run consensus.</p>
                )}
              </div>
            </div>
            <h4>Queue per approach (mean vehicles)</h4>
            <QueueHistory intersection={it.intersection} approaches={Object.keys(it.queues).sort(byCompass)} />
          </section>
        ))}
      </div>
    </div>
  );
}
