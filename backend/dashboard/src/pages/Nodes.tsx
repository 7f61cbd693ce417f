/** Every node: status, battery, CPU, memory, link, mode, heartbeat; filter, sort, search; detail. */
import { useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../api";
import { Empty, LoadError } from "../components/Bits";
import { ago, num, pct, time } from "../format";
import { useDebounced, useLoad } from "../hooks";
import { useLive } from "../stores/live";
import { useSettings } from "../stores/settings";
import type { Heartbeat, NodeOut } from "../types";

export type SortKey = "node_id" | "battery_soc" | "rtt_ms" | "last_seen_ms" | "cpu" | "intersection";

export interface NodeRow extends NodeOut {
  cpu: number | null;
  mem_mb: number | null;
}

/** Filter by text, status and mode, then sort; nulls always last. Pure, for tests. */
export function filterNodes(
  rows: NodeRow[],
  q: string,
  status: "all" | "active" | "inactive",
  mode: string,
  key: SortKey,
  asc: boolean,
): NodeRow[] {
  const needle = q.trim().toLowerCase();
  const out = rows.filter(
    (n) =>
      (!needle || n.node_id.toLowerCase().includes(needle) || (n.intersection ?? "").toLowerCase().includes(needle)) &&
      (status === "all" || (status === "active") === n.active) &&
      (mode === "all" || n.mode === mode),
  );
  return out.sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    const c = x < y ? -1 : x > y ? 1 : 0;
    return asc ? c : -c;
  });
}

function Detail({ id, onClose }: { id: string; onClose: () => void }) {
  const { data, error } = useLoad(
    () => api<{ node: NodeOut; heartbeats: Heartbeat[]; logs: { ts_ms: number; level: string; message: string }[] }>(`/api/nodes/${encodeURIComponent(id)}?history=200`),
    [id],
    10_000,
  );
  const series = (data?.heartbeats ?? [])
    .slice()
    .reverse()
    .map((h) => ({ t: h.ts, battery: h.battery_soc * 100, rtt: h.link.rtt_ms, cpu: h.cpu != null ? h.cpu * 100 : null }));
  return (
    <aside className="detail" data-testid="node-detail">
      <div className="toolbar">
        <h3>{id}</h3>
        <button onClick={onClose}>Close</button>
      </div>
      <LoadError error={error} />
      {data ? (
        <>
          <p>
            {data.node.intersection ?? "no intersection"} · mode {data.node.mode ?? "?"} · tier {data.node.tier_kbps ?? "?"} kbit/s ·
            received {data.node.received} · lost {data.node.lost}
          </p>
          {series.length ? (
            <div style={{ height: 240 }}>
              <ResponsiveContainer>
                <LineChart data={series}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="t" tickFormatter={time} minTickGap={40} />
                  <YAxis yAxisId="p" domain={[0, 100]} />
                  <YAxis yAxisId="ms" orientation="right" />
                  <Tooltip labelFormatter={(t) => time(Number(t))} />
                  <Legend />
                  <Line yAxisId="p" dataKey="battery" name="battery %" stroke="#10b981" dot={false} isAnimationActive={false} />
                  <Line yAxisId="p" dataKey="cpu" name="CPU %" stroke="#f59e0b" dot={false} isAnimationActive={false} />
                  <Line yAxisId="ms" dataKey="rtt" name="RTT ms" stroke="#6366f1" dot={false} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          ) : (
            <Empty>No heartbeats stored for this node.</Empty>
          )}
          <h4>Recent logs</h4>
          {data.logs.length ? (
            <ul className="plain">
              {data.logs.slice(0, 10).map((l, i) => (
                <li key={i}>
                  {time(l.ts_ms / 1000)} {l.level} {l.message}
                </li>
              ))}
            </ul>
          ) : (
            <Empty>No logs.</Empty>
          )}
        </>
      ) : null}
    </aside>
  );
}

export default function Nodes() {
  const low = useSettings((s) => s.site.low_battery_soc);
  const heartbeats = useLive((s) => s.heartbeats);
  const { data, error } = useLoad(() => api<{ items: NodeOut[] }>("/api/nodes?limit=1000"), [], 5000);
  const [q, setQ] = useState("");
  const [status, setStatus] = useState<"all" | "active" | "inactive">("all");
  const [mode, setMode] = useState("all");
  const [key, setKey] = useState<SortKey>("node_id");
  const [asc, setAsc] = useState(true);
  // The open detail is in the address (?node=), so that the city map can link to it.
  const [params, setParams] = useSearchParams();
  const selected = params.get("node");
  const setSelected = (id: string | null) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (id) next.set("node", id);
        else next.delete("node");
        return next;
      },
      { replace: true },
    );
  const query = useDebounced(q, 200);

  const rows = useMemo(() => {
    const all: NodeRow[] = (data?.items ?? []).map((n) => {
      const hb = heartbeats[n.node_id];
      return { ...n, cpu: hb?.cpu ?? null, mem_mb: hb?.mem_mb ?? null };
    });
    return filterNodes(all, query, status, mode, key, asc);
  }, [data, heartbeats, query, status, mode, key, asc]);

  const sortBy = (k: SortKey) => {
    if (k === key) setAsc(!asc);
    else {
      setKey(k);
      setAsc(true);
    }
  };
  const th = (k: SortKey, label: string) => (
    <th onClick={() => sortBy(k)} className="sortable">
      {label}
      {key === k ? (asc ? " ▲" : " ▼") : ""}
    </th>
  );

  return (
    <div className={selected ? "with-detail" : ""}>
      <div>
        <div className="toolbar">
          <h2>Edge nodes</h2>
          <input placeholder="search id or intersection" aria-label="search nodes" value={q} onChange={(e) => setQ(e.target.value)} />
          <select aria-label="status" value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="all">all</option>
            <option value="active">active</option>
            <option value="inactive">inactive</option>
          </select>
          <select aria-label="mode" value={mode} onChange={(e) => setMode(e.target.value)}>
            <option value="all">any mode</option>
            <option value="full">full</option>
            <option value="reduced">reduced</option>
          </select>
          <span>{rows.length} nodes</span>
        </div>
        <LoadError error={error} />
        {data && !data.items.length ? <Empty>No node has reported yet.</Empty> : null}
        <div className="table-wrap">
          <table className="table" data-testid="nodes-table">
            <thead>
              <tr>
                {th("node_id", "node")}
                {th("intersection", "intersection")}
                <th>status</th>
                {th("battery_soc", "battery")}
                {th("cpu", "CPU")}
                <th>memory</th>
                {th("rtt_ms", "link RTT")}
                <th>loss</th>
                <th>mode</th>
                {th("last_seen_ms", "heartbeat")}
              </tr>
            </thead>
            <tbody>
              {rows.map((n) => (
                <tr key={n.node_id} onClick={() => setSelected(n.node_id)} className={selected === n.node_id ? "selected" : ""}>
                  <td>{n.node_id}</td>
                  <td>{n.intersection ?? "—"}</td>
                  <td>
                    <span className={n.active ? "badge ok" : "badge"}>{n.active ? "active" : "inactive"}</span>
                  </td>
                  <td className={n.battery_soc !== null && n.battery_soc < low ? "warn" : ""}>{pct(n.battery_soc)}</td>
                  <td>{pct(n.cpu)}</td>
                  <td>{n.mem_mb !== null ? `${num(n.mem_mb)} MB` : "—"}</td>
                  <td>{n.rtt_ms !== null ? `${num(n.rtt_ms)} ms` : "—"}</td>
                  <td>{pct(n.link_loss, 1)}</td>
                  <td>{n.mode ?? "—"}</td>
                  <td>{ago(n.last_seen_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      {selected ? <Detail id={selected} onClose={() => setSelected(null)} /> : null}
    </div>
  );
}
