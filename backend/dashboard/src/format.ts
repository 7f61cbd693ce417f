/** Formatting helpers shared by pages (all tolerate missing values). */

export const dash = "—";

export function num(v: number | null | undefined, digits = 0): string {
  return v === null || v === undefined || Number.isNaN(v) ? dash : v.toFixed(digits);
}

/** A duration given in milliseconds, in the unit that reads best: "42 ms", "1.3 s",
 * "1.5 min" (a backfill or a node's store-and-forward flush arrives minutes late). */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return dash;
  const a = Math.abs(ms);
  if (a < 1000) return `${ms.toFixed(0)} ms`;
  if (a < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (a < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function pct(v: number | null | undefined, digits = 0): string {
  return v === null || v === undefined ? dash : `${(v * 100).toFixed(digits)}%`;
}

/** ``toLocaleTimeString()``'s format from one shared formatter (building one per call is
 * what makes ``toLocaleTimeString`` slow), remembered per whole second: a list scrolled
 * at 60 fps formats each second once, not once per row per frame. */
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "numeric", second: "numeric" });
const clockCache = new Map<number, string>();
export const CLOCK_CACHE_MAX = 50_000;

export function time(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return dash;
  const whole = Math.floor(sec);
  let text = clockCache.get(whole);
  if (text === undefined) {
    if (clockCache.size >= CLOCK_CACHE_MAX) clockCache.clear();
    text = clockFormat.format(whole * 1000);
    clockCache.set(whole, text);
  }
  return text;
}

/** Entries the clock cache holds (for tests). */
export function clockCacheSize(): number {
  return clockCache.size;
}

export function dateTime(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return dash;
  return new Date(sec * 1000).toLocaleString();
}

export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

/** ``<input type="datetime-local">`` value <-> epoch seconds (local time). */
export function toLocalInput(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fromLocalInput(v: string): number | null {
  if (!v) return null;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? null : t / 1000;
}

/** Where an alert is: intersection and approach when its series has them, and the node. */
export function place(a: { intersection: string | null; approach: string | null; node_id: string }): string {
  const where = [a.intersection, a.approach ? `approach ${a.approach}` : null].filter(Boolean).join(" ");
  return where ? `${where} · ${a.node_id}` : a.node_id;
}
