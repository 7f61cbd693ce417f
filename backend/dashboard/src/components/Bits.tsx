/** Small presentational pieces: tiles, empty states, the time-range picker, load errors. */
import type { ReactNode } from "react";
import { fromLocalInput, toLocalInput } from "../format";
import { ALL, presetLabel, PRESETS, resolve, useRange } from "../stores/range";

export function Tile({ label, value, sub, testId }: { label: string; value: string; sub?: string; testId?: string }) {
  return (
    <div className="tile" data-testid={testId}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
      {sub ? <div className="tile-sub">{sub}</div> : null}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function LoadError({ error }: { error: string | null }) {
  return error ? <div className="error-box" role="alert">{error}</div> : null;
}

export type { Range } from "../stores/range";

/** The global time range (stores/range.ts): presets that slide with the clock, "all",
 * and explicit from/to; the same selection on every page that shows one. */
export function TimeRange() {
  const sel = useRange((s) => s.sel);
  const choose = useRange((s) => s.choose);
  const shown = resolve(sel);
  const isAll = sel.preset === null && sel.since === null && sel.until === null;
  return (
    <span className="time-range" role="group" aria-label="time range">
      {PRESETS.map((m) => (
        <button key={m} type="button" aria-pressed={sel.preset === m} className={sel.preset === m ? "on" : ""} onClick={() => choose({ preset: m, since: null, until: null })}>
          {presetLabel(m)}
        </button>
      ))}
      <button type="button" aria-pressed={isAll} className={isAll ? "on" : ""} onClick={() => choose(ALL)}>
        all
      </button>
      <label>
        from{" "}
        <input
          type="datetime-local"
          aria-label="from"
          value={shown.since ? toLocalInput(shown.since) : ""}
          onChange={(e) => choose({ preset: null, since: fromLocalInput(e.target.value), until: shown.until })}
        />
      </label>
      <label>
        to{" "}
        <input
          type="datetime-local"
          aria-label="to"
          value={shown.until ? toLocalInput(shown.until) : ""}
          onChange={(e) => choose({ preset: null, since: shown.since, until: fromLocalInput(e.target.value) })}
        />
      </label>
    </span>
  );
}
