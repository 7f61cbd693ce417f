/**
 * One time range for every historical view (Detections & logs, Analytics, Consensus,
 * alert history): chosen on any of them, kept while moving between pages, and written
 * into the address (?range=15m, or ?since=..&until=.. in epoch seconds) so that a reload
 * or a shared link shows the same window. A preset slides with the clock ("the last
 * hour" is always the last hour); explicit bounds stay put.
 */
import { create } from "zustand";

export interface Range {
  since: number | null;
  until: number | null;
}

/** ``preset``: minutes back from now, sliding; otherwise ``since``/``until`` (null = open). */
export interface RangeSel {
  preset: number | null;
  since: number | null;
  until: number | null;
}

export const PRESETS = [15, 60, 360, 1440];
export const ALL: RangeSel = { preset: null, since: null, until: null };

export const presetLabel = (min: number) => (min < 60 ? `${min}m` : min % 1440 === 0 ? `${min / 1440}d` : `${min / 60}h`);

/** The bounds a selection means now (epoch seconds). */
export function resolve(sel: RangeSel, now = Date.now() / 1000): Range {
  return sel.preset !== null ? { since: now - sel.preset * 60, until: null } : { since: sel.since, until: sel.until };
}

/** The query parameters of a selection ("range=1h", "since=..&until=..", "range=all"). */
export function toQuery(sel: RangeSel): URLSearchParams {
  const q = new URLSearchParams();
  if (sel.preset !== null) q.set("range", presetLabel(sel.preset));
  else if (sel.since === null && sel.until === null) q.set("range", "all");
  else {
    if (sel.since !== null) q.set("since", String(Math.round(sel.since)));
    if (sel.until !== null) q.set("until", String(Math.round(sel.until)));
  }
  return q;
}

/** The selection a query string names, or null if it names none (or a malformed one). */
export function fromQuery(search: string): RangeSel | null {
  const q = new URLSearchParams(search);
  const r = q.get("range");
  if (r === "all") return ALL;
  const m = r?.match(/^(\d+)(m|h|d)$/);
  if (m) {
    const min = Number(m[1]) * { m: 1, h: 60, d: 1440 }[m[2] as "m"];
    return min > 0 ? { preset: min, since: null, until: null } : null;
  }
  const num = (k: string) => {
    const v = q.get(k);
    return v !== null && /^\d+(\.\d+)?$/.test(v) ? Number(v) : null;
  };
  const since = num("since");
  const until = num("until");
  return since !== null || until !== null ? { preset: null, since, until } : null;
}

/** ``search`` with the range parameters replaced by ``sel``'s (others kept). */
export function withRange(search: string, sel: RangeSel): string {
  const q = new URLSearchParams(search);
  for (const k of ["range", "since", "until"]) q.delete(k);
  for (const [k, v] of toQuery(sel)) q.set(k, v);
  return `?${q.toString()}`;
}

interface RangeState {
  sel: RangeSel;
  /** Chosen by the user or the address (then the site's default does not replace it). */
  chosen: boolean;
  choose: (sel: RangeSel) => void;
  /** The site's default range, applied unless one was chosen. */
  setDefault: (minutes: number) => void;
}

const fromAddress = typeof location !== "undefined" ? fromQuery(location.search) : null;

export const useRange = create<RangeState>()((set, get) => ({
  sel: fromAddress ?? { preset: 60, since: null, until: null },
  chosen: fromAddress !== null,
  choose(sel) {
    set({ sel, chosen: true });
    if (typeof history !== "undefined") {
      history.replaceState(history.state, "", `${location.pathname}${withRange(location.search, sel)}${location.hash}`);
    }
  },
  setDefault(minutes) {
    if (!get().chosen && minutes > 0) set({ sel: { preset: minutes, since: null, until: null } });
  },
}));
