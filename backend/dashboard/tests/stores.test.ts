import { beforeEach, describe, expect, it, vi } from "vitest";
import { addDetections, appendBounded, useLive } from "../src/stores/live";
import { defaultLayout, mergeLayout, useSettings, WIDGETS } from "../src/stores/settings";
import { canEdit, roleOf, useAuth } from "../src/stores/auth";
import type { SystemStatus } from "../src/types";

const status = (over: Partial<SystemStatus> = {}): SystemStatus => ({
  nodes: 12, active_nodes: 10, messages_total: 100, messages_lost: 0, detections_total: 500,
  detections_last_2min: 240, messages_last_min: 60, ingest_kbps_last_min: 12.5,
  latency_ms_mean_last_min: 40, bytes_received_total: 1000, observations_not_transmitted_fraction: 0.6,
  power_w_mean_active: 5, battery_soc_mean_active: 0.7, quarantined_total: 0, alerts_open: 1,
  ingest_pending: 0, uptime_s: 10, computed_at_ms: 1000, ...over,
});

describe("live store", () => {
  beforeEach(() => useLive.getState().reset());

  it("keeps a bounded history and replaces a repeated timestamp", () => {
    let l: { t: number; v: number }[] = [];
    for (let i = 0; i < 10; i++) l = appendBounded(l, { t: i, v: i }, 5);
    expect(l.map((p) => p.t)).toEqual([5, 6, 7, 8, 9]);
    l = appendBounded(l, { t: 9, v: 99 }, 5);
    expect(l).toHaveLength(5);
    expect(l[4].v).toBe(99);
  });

  it("bins detections per second", () => {
    let b = addDetections([], 1500, 3, 10);
    b = addDetections(b, 1900, 2, 10);
    b = addDetections(b, 2100, 4, 10);
    expect(b).toEqual([{ t: 1000, n: 5 }, { t: 2000, n: 4 }]);
  });

  it("reduces system, heartbeat and alert events", () => {
    const s = useLive.getState();
    s.onEvent("system", status());
    s.onEvent("system", status({ computed_at_ms: 3000, detections_last_2min: 100 }));
    s.onEvent("nodes", { kind: "queue", node_id: "a" });
    s.onEvent("nodes", { kind: "heartbeat", node_id: "a", battery_soc: 0.5 });
    s.onEvent("alerts", { id: 7, severity: "warning" });
    const st = useLive.getState();
    expect(st.status?.detections_last_2min).toBe(100);
    expect(st.history.map((p) => p.detectionsPerMin)).toEqual([120, 50]);
    expect(Object.keys(st.heartbeats)).toEqual(["a"]);
    expect(st.alerts[0].id).toBe(7);
  });
});

describe("settings store", () => {
  it("lays out every widget without overlap inside 12 columns", () => {
    const l = defaultLayout();
    expect(l.map((i) => i.i)).toEqual(WIDGETS.map((w) => w.id));
    for (const a of l) {
      expect(a.x + a.w).toBeLessThanOrEqual(12);
      for (const b of l) {
        if (a === b) continue;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap).toBe(false);
      }
    }
  });

  it("completes a saved layout and drops unknown widgets", () => {
    const merged = mergeLayout([{ i: "alerts", x: 0, y: 0, w: 4, h: 4 }, { i: "gone", x: 0, y: 4, w: 1, h: 1 }]);
    expect(merged[0]).toEqual({ i: "alerts", x: 0, y: 0, w: 4, h: 4 });
    expect(merged.find((m) => m.i === "gone")).toBeUndefined();
    expect(merged).toHaveLength(WIDGETS.length);
    expect(Math.min(...merged.slice(1).map((m) => m.y))).toBeGreaterThanOrEqual(4);
  });

  it("saves prefs to the server and records a failure", async () => {
    useAuth.setState({ access: "t" });
    const fetchMock = vi.fn().mockResolvedValueOnce(new Response("{}", { status: 200 }))
      .mockResolvedValueOnce(new Response(JSON.stringify({ detail: "boom" }), { status: 500 }));
    vi.stubGlobal("fetch", fetchMock);
    const prefs = { layout: defaultLayout(), hidden: ["energy"] };
    await useSettings.getState().savePrefs(prefs);
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("/api/dashboard/settings/user");
    expect(init.method).toBe("PUT");
    expect(JSON.parse(init.body).hidden).toEqual(["energy"]);
    expect(useSettings.getState().error).toBeNull();
    await useSettings.getState().savePrefs(prefs);
    expect(useSettings.getState().error).toBe("boom");
    vi.unstubAllGlobals();
  });
});

describe("auth store", () => {
  it("reads the role claim and decides who may edit", () => {
    const token = `x.${btoa(JSON.stringify({ role: "viewer", sub: "v" }))}.y`;
    expect(roleOf(token)).toBe("viewer");
    expect(roleOf("garbage")).toBeNull();
    expect(canEdit("viewer")).toBe(false);
    expect(canEdit("operator")).toBe(true);
  });
});
