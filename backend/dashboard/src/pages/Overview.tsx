/**
 * Live overview: tiles and charts fed by the WebSocket "system" and "detections" topics,
 * alerts as they fire. Widgets can be dragged, resized and hidden; the layout is saved
 * to the server for this user.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import GridLayout, { type Layout } from "react-grid-layout";
import "react-grid-layout/css/styles.css";
import "react-resizable/css/styles.css";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../api";
import { Empty, Tile } from "../components/Bits";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { stacked, useWidth } from "../layout";
import { duration, num, pct, place } from "../format";
import { useLive } from "../stores/live";
import { defaultLayout, useSettings, WIDGETS } from "../stores/settings";
import type { Alert, LayoutItem, SystemStatus } from "../types";

/** Below this width the widgets stack in one column (and cannot be dragged). */
export const STACK_BELOW_PX = 720;
const clock = (t: number) => new Date(t).toLocaleTimeString();

function Tiles({ id, s }: { id: string; s: SystemStatus | null }) {
  if (!s) return <Tile label="waiting for data" value="…" />;
  switch (id) {
    case "nodes":
      return <Tile testId="tile-nodes" label="Nodes active" value={`${s.active_nodes} / ${s.nodes}`} sub={`${s.messages_last_min} messages in the last minute`} />;
    case "detections":
      return <Tile testId="tile-detections" label="Detections / min" value={num(s.detections_last_2min / 2, 1)} sub={`${s.detections_total.toLocaleString()} in total`} />;
    case "bandwidth":
      return <Tile testId="tile-bandwidth" label="Observations not sent (bandwidth saved at the edge)" value={pct(s.observations_not_transmitted_fraction, 1)} sub={`${num(s.ingest_kbps_last_min, 1)} kbit/s ingest`} />;
    case "energy":
      return <Tile testId="tile-energy" label="Mean power of active nodes" value={`${num(s.power_w_mean_active, 2)} W`} sub={`mean battery ${pct(s.battery_soc_mean_active)}`} />;
    default:
      return <Tile testId="tile-latency" label="Node → backend latency (mean, 1 min)" value={duration(s.latency_ms_mean_last_min)} sub={`${s.ingest_pending} pending in ingest`} />;
  }
}

/** The newest known state of each alert: live events (newest first) over the stored list. */
export function firingNow(live: Alert[], stored: Alert[]): Alert[] {
  const seen = new Set<number>();
  return [...live, ...stored]
    .filter((a) => (seen.has(a.id) ? false : (seen.add(a.id), true)))
    .filter((a) => a.state === "firing" && !a.acknowledged);
}

function AlertsWidget({ live }: { live: Alert[] }) {
  const [stored, setStored] = useState<Alert[]>([]);
  useEffect(() => {
    api<{ items: Alert[] }>("/api/alerts?state=firing&acknowledged=false&limit=50")
      .then((r) => setStored(r.items))
      .catch(() => undefined);
  }, []);
  const all = firingNow(live, stored);
  if (!all.length) return <Empty>No alerts firing.</Empty>;
  return (
    <ul className="alert-list" data-testid="alerts-firing">
      {all.slice(0, 50).map((a) => (
        <li key={a.id} className={`sev-${a.severity}`}>
          <b>{a.severity}</b> {new Date(a.fired_ms ?? a.created_ms).toLocaleTimeString()} · {place(a)} · {a.message}
        </li>
      ))}
    </ul>
  );
}

function Widget({ id }: { id: string }): ReactNode {
  const status = useLive((s) => s.status);
  const history = useLive((s) => s.history);
  const bins = useLive((s) => s.detectionBins);
  const alerts = useLive((s) => s.alerts);
  if (id === "chart-detections") {
    return bins.length ? (
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={bins}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="t" tickFormatter={clock} minTickGap={40} />
          <YAxis />
          <Tooltip labelFormatter={(t) => clock(Number(t))} />
          <Bar dataKey="n" name="detections" fill="#3b82f6" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    ) : (
      <Empty>Waiting for detections…</Empty>
    );
  }
  if (id === "chart-latency") {
    return history.length ? (
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={history}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="t" tickFormatter={clock} minTickGap={40} />
          <YAxis yAxisId="l" />
          <YAxis yAxisId="r" orientation="right" />
          <Tooltip labelFormatter={(t) => clock(Number(t))} />
          <Legend />
          <Line yAxisId="l" dataKey="latencyMs" name="latency ms" stroke="#ef4444" dot={false} isAnimationActive={false} />
          <Line yAxisId="r" dataKey="ingestKbps" name="ingest kbit/s" stroke="#10b981" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    ) : (
      <Empty>Waiting for the first status push…</Empty>
    );
  }
  if (id === "alerts") return <AlertsWidget live={alerts} />;
  return <Tiles id={id} s={status} />;
}

export default function Overview() {
  const prefs = useSettings((s) => s.prefs);
  const savePrefs = useSettings((s) => s.savePrefs);
  const saveError = useSettings((s) => s.error);
  const [editing, setEditing] = useState(false);
  const pendingSave = useRef<ReturnType<typeof setTimeout> | null>(null);
  const hidden = useMemo(() => new Set(prefs.hidden), [prefs.hidden]);
  const visible = prefs.layout.filter((l) => !hidden.has(l.i));
  const [frame, width] = useWidth<HTMLDivElement>();
  const stack = width > 0 && width < STACK_BELOW_PX;
  const shown = stack ? stacked(visible) : visible;

  function persist(layout: LayoutItem[], hiddenIds: string[]) {
    if (pendingSave.current) clearTimeout(pendingSave.current);
    const next = { layout, hidden: hiddenIds };
    useSettings.setState({ prefs: next });
    pendingSave.current = setTimeout(() => void savePrefs(next), 400);
  }

  function onLayoutChange(changed: Layout[]) {
    if (!editing || stack) return; // a phone's one column is not the saved layout
    const byId = new Map(changed.map((l) => [l.i, l]));
    const layout = prefs.layout.map((l) => {
      const c = byId.get(l.i);
      return c ? { i: l.i, x: c.x, y: c.y, w: c.w, h: c.h } : l;
    });
    if (JSON.stringify(layout) !== JSON.stringify(prefs.layout)) persist(layout, prefs.hidden);
  }

  const toggle = (id: string) =>
    persist(prefs.layout, hidden.has(id) ? prefs.hidden.filter((h) => h !== id) : [...prefs.hidden, id]);

  return (
    <div>
      <div className="toolbar">
        <h2>Overview</h2>
        <button onClick={() => setEditing(!editing)} data-testid="customise">
          {editing ? "Done" : "Customise"}
        </button>
        {editing ? (
          <>
            {WIDGETS.map((w) => (
              <label key={w.id} className="check">
                <input type="checkbox" checked={!hidden.has(w.id)} onChange={() => toggle(w.id)} aria-label={`show ${w.title}`} />
                {w.title}
              </label>
            ))}
            <button onClick={() => persist(defaultLayout(), [])}>Reset layout</button>
          </>
        ) : null}
        {saveError ? <span className="error-inline">layout not saved: {saveError}</span> : null}
      </div>
      <div ref={frame} className="grid-frame">
        {width > 0 ? (
          <GridLayout
            className={editing && !stack ? "grid editing" : "grid"}
            width={width}
            layout={shown}
            cols={12}
            rowHeight={28}
            isDraggable={editing && !stack}
            isResizable={editing && !stack}
            onLayoutChange={onLayoutChange}
            draggableHandle=".widget-title"
          >
            {shown.map((l) => (
              <div key={l.i} className="widget" data-testid={`widget-${l.i}`}>
                <div className="widget-title">{WIDGETS.find((w) => w.id === l.i)?.title}</div>
                <div className="widget-body">
                  <ErrorBoundary name={l.i}>
                    <Widget id={l.i} />
                  </ErrorBoundary>
                </div>
              </div>
            ))}
          </GridLayout>
        ) : null}
      </div>
    </div>
  );
}
