/**
 * Detections and logs: up to 10,000 rows held in memory and rendered through a virtual
 * list (only the visible rows exist in the DOM), multi-field filters debounced before
 * they query the server, a time range, and export of exactly the filtered set.
 */
import { useEffect, useMemo, useState } from "react";
import { api, qs, request } from "../api";
import { Empty, LoadError, TimeRange, type Range } from "../components/Bits";
import { VirtualRows } from "../components/VirtualRows";
import { time } from "../format";
import { useDebounced } from "../hooks";
import { resolve, useRange } from "../stores/range";
import type { Detection, LogEntry } from "../types";

export const MAX_ROWS = 10_000;
const PAGE = 5000;

type Dataset = "detections" | "logs";
type Row = Detection | LogEntry;

export interface Filters {
  node_id: string;
  cls: string;
  intersection: string;
  level: string;
}

/** Query parameters for the list and export endpoints (same names on both). */
export function filterParams(ds: Dataset, f: Filters, r: Range): Record<string, string | number | null> {
  const base = { node_id: f.node_id.trim() || null, since: r.since, until: r.until };
  return ds === "detections"
    ? { ...base, cls: f.cls.trim() || null, intersection: f.intersection.trim() || null }
    : { ...base, level: f.level || null };
}

async function loadAll(ds: Dataset, params: Record<string, string | number | null>, onPage: (rows: Row[]) => void, stop: () => boolean) {
  let cursor: string | null = null;
  let rows: Row[] = [];
  do {
    const page: { items: Row[]; next_cursor: string | null } = await api(
      `/api/${ds}${qs({ ...params, cursor, limit: Math.min(PAGE, MAX_ROWS - rows.length) })}`,
    );
    if (stop()) return;
    rows = rows.concat(page.items);
    onPage(rows);
    cursor = page.next_cursor;
  } while (cursor && rows.length < MAX_ROWS);
}

/** Row contents; module-level, so the memoised rows see the same function every render.
 * Decided per row: after a dataset switch the old rows stay until the new ones load. */
function cells(r: Row) {
  return "cls" in r ? (
    <>
      <span>{time(r.ts)}</span><span>{r.node_id}</span><span>{r.intersection}</span><span>{r.cls}</span>
      <span>{r.conf.toFixed(2)}</span><span>{r.track ?? "—"}</span>
    </>
  ) : (
    <>
      <span>{time(r.ts)}</span><span>{r.node_id}</span><span>{r.level}</span><span className="wide">{r.message}</span>
    </>
  );
}

export default function Detections() {
  const [ds, setDs] = useState<Dataset>("detections");
  const [filters, setFilters] = useState<Filters>({ node_id: "", cls: "", intersection: "", level: "" });
  const sel = useRange((s) => s.sel);
  const range: Range = useMemo(() => resolve(sel), [sel]); // a preset's bounds as of choosing it
  const [rows, setRows] = useState<Row[]>([]);
  const [loading, setLoading] = useState(true); // true from the start: no empty-state flash
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState<string | null>(null);
  const debounced = useDebounced(filters, 300);
  const params = filterParams(ds, debounced, range);
  const key = JSON.stringify([ds, params]);

  useEffect(() => {
    let stale = false;
    setLoading(true);
    setError(null);
    loadAll(ds, params, setRows, () => stale)
      .catch((e: unknown) => !stale && setError(e instanceof Error ? e.message : String(e)))
      .finally(() => !stale && setLoading(false));
    return () => {
      stale = true;
    };
  }, [key]);

  async function exportAs(format: "csv" | "json" | "xlsx") {
    setExporting(format);
    try {
      const res = await request(`/api/export${qs({ dataset: ds, format, ...params, limit: 1_000_000 })}`);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = `edgeqi-${ds}.${format}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setExporting(null);
    }
  }

  const set = (k: keyof Filters) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setFilters({ ...filters, [k]: e.target.value });

  return (
    <div>
      <div className="toolbar">
        <h2>Detections &amp; logs</h2>
        <select aria-label="dataset" value={ds} onChange={(e) => setDs(e.target.value as Dataset)}>
          <option value="detections">detections</option>
          <option value="logs">logs</option>
        </select>
        <input placeholder="node id" aria-label="node filter" value={filters.node_id} onChange={set("node_id")} />
        {ds === "detections" ? (
          <>
            <input placeholder="class" aria-label="class filter" value={filters.cls} onChange={set("cls")} />
            <input placeholder="intersection" aria-label="intersection filter" value={filters.intersection} onChange={set("intersection")} />
          </>
        ) : (
          <select aria-label="level filter" value={filters.level} onChange={set("level")}>
            <option value="">any level</option>
            {["debug", "info", "warning", "error"].map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        )}
      </div>
      <div className="toolbar">
        <TimeRange />
        {(["csv", "json", "xlsx"] as const).map((f) => (
          <button key={f} onClick={() => void exportAs(f)} disabled={exporting !== null}>
            Export {f.toUpperCase()}
          </button>
        ))}
      </div>
      <div className="status-line" data-testid="row-count">
        {rows.length.toLocaleString()} rows{rows.length >= MAX_ROWS ? " (newest 10,000; narrow the filters or export for all)" : ""}
        {loading ? " · loading…" : ""}
      </div>
      <LoadError error={error} />
      {!loading && !rows.length ? <Empty>No rows match these filters.</Empty> : null}
      <div className="vtable">
        <div className="vtable-inner">
          <div className="vhead">
            {ds === "detections" ? (
              <>
                <span>time</span><span>node</span><span>intersection</span><span>class</span><span>conf</span><span>track</span>
              </>
            ) : (
              <>
                <span>time</span><span>node</span><span>level</span><span className="wide">message</span>
              </>
            )}
          </div>
          <VirtualRows rows={rows} render={cells} />
        </div>
      </div>
    </div>
  );
}
