/** Site settings and this user's overview layout, loaded from and saved to the server. */
import { create } from "zustand";
import { api } from "../api";
import type { LayoutItem, SiteSettings, UserPrefs } from "../types";

export const WIDGETS: { id: string; title: string; w: number; h: number }[] = [
  { id: "nodes", title: "Nodes active", w: 3, h: 3 },
  { id: "detections", title: "Detections / min", w: 3, h: 3 },
  { id: "bandwidth", title: "Observations not sent", w: 2, h: 3 },
  { id: "energy", title: "Energy", w: 2, h: 3 },
  { id: "latency", title: "Latency", w: 2, h: 3 },
  { id: "chart-detections", title: "Detections per second (live)", w: 6, h: 8 },
  { id: "chart-latency", title: "Latency and ingest (live)", w: 6, h: 8 },
  { id: "alerts", title: "Alerts firing", w: 12, h: 7 },
];

/** The default grid: widgets flow left to right, wrapping at 12 columns. */
export function defaultLayout(): LayoutItem[] {
  let x = 0;
  let y = 0;
  let rowH = 0;
  return WIDGETS.map((w) => {
    if (x + w.w > 12) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const item = { i: w.id, x, y, w: w.w, h: w.h };
    x += w.w;
    rowH = Math.max(rowH, w.h);
    return item;
  });
}

/** A saved layout completed with defaults for widgets it lacks, unknown ids dropped. */
export function mergeLayout(saved: LayoutItem[]): LayoutItem[] {
  const known = new Set(WIDGETS.map((w) => w.id));
  const kept = saved.filter((l) => known.has(l.i));
  const have = new Set(kept.map((l) => l.i));
  const bottom = kept.reduce((m, l) => Math.max(m, l.y + l.h), 0);
  const missing = defaultLayout()
    .filter((l) => !have.has(l.i))
    .map((l) => ({ ...l, y: l.y + bottom }));
  return [...kept, ...missing];
}

export const DEFAULT_SITE: SiteSettings = {
  site_name: "EDGE-QI",
  default_range_min: 60,
  live_points: 120,
  status_poll_s: 5,
  low_battery_soc: 0.2,
};

interface SettingsState {
  loaded: boolean;
  site: SiteSettings;
  prefs: UserPrefs;
  canEditSite: boolean;
  error: string | null;
  load: () => Promise<void>;
  saveSite: (site: SiteSettings) => Promise<void>;
  savePrefs: (prefs: UserPrefs) => Promise<void>;
}

export const useSettings = create<SettingsState>()((set) => ({
  loaded: false,
  site: DEFAULT_SITE,
  prefs: { layout: defaultLayout(), hidden: [] },
  canEditSite: false,
  error: null,
  async load() {
    const r = await api<{ site: SiteSettings; user: UserPrefs; can_edit_site: boolean }>(
      "/api/dashboard/settings",
    );
    set({
      loaded: true,
      site: r.site,
      prefs: { layout: mergeLayout(r.user.layout), hidden: r.user.hidden },
      canEditSite: r.can_edit_site,
      error: null,
    });
  },
  async saveSite(site) {
    const saved = await api<SiteSettings>("/api/dashboard/settings/site", {
      method: "PUT",
      body: JSON.stringify(site),
    });
    set({ site: saved });
  },
  async savePrefs(prefs) {
    set({ prefs });
    try {
      await api<UserPrefs>("/api/dashboard/settings/user", { method: "PUT", body: JSON.stringify(prefs) });
      set({ error: null });
    } catch (e) {
      set({ error: e instanceof Error ? e.message : String(e) });
    }
  },
}));
