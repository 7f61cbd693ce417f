/** Small presentational pieces: tiles, empty states, time-range pickers, load errors. */
import type { ReactNode } from "react";
import { fromLocalInput, toLocalInput } from "../format";

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

export interface Range {
  since: number | null;
  until: number | null;
}

/** Presets (last N minutes) plus explicit from/to inputs; null bounds mean open. */
export function TimeRange({ value, onChange }: { value: Range; onChange: (r: Range) => void }) {
  const preset = (min: number) => onChange({ since: Date.now() / 1000 - min * 60, until: null });
  return (
    <span className="time-range">
      {[15, 60, 360, 1440].map((m) => (
        <button key={m} type="button" onClick={() => preset(m)}>
          {m < 60 ? `${m}m` : `${m / 60}h`}
        </button>
      ))}
      <button type="button" onClick={() => onChange({ since: null, until: null })}>
        all
      </button>
      <label>
        from{" "}
        <input
          type="datetime-local"
          aria-label="from"
          value={value.since ? toLocalInput(value.since) : ""}
          onChange={(e) => onChange({ ...value, since: fromLocalInput(e.target.value) })}
        />
      </label>
      <label>
        to{" "}
        <input
          type="datetime-local"
          aria-label="to"
          value={value.until ? toLocalInput(value.until) : ""}
          onChange={(e) => onChange({ ...value, until: fromLocalInput(e.target.value) })}
        />
      </label>
    </span>
  );
}
