/**
 * The city map drawn from fixture nodes shaped like GET /api/nodes, /api/intersections and
 * /api/alerts: one junction with a camera 40 m out on each approach, a second junction
 * 400 m east, and a node that never said where it is.
 */
import { fireEvent, render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fitFrame, healthOf, SILENT_MS, VIEW_PAD, VIEW_W } from "../src/cityMap";
import CityMap from "../src/pages/CityMap";
import type { Alert, NodeOut, QueueState } from "../src/types";

const NOW = Date.now();
const LAT = 52.0;
// 40 m in degrees of latitude, and of longitude at 52° N.
const DLAT = 40 / 111_195;
const DLON = DLAT / Math.cos((LAT * Math.PI) / 180);

const node = (id: string, over: Partial<NodeOut>): NodeOut => ({
  node_id: id, intersection: "i0000", registered: false, active: true, first_seen_ms: NOW - 600_000, last_seen_ms: NOW - 1000,
  received: 10, lost: 0, bytes_received: 1000, discarded: 0, deferred: 0, dropped: 0, battery_soc: 0.8,
  power_w: 5, mode: "full", tier_kbps: 1500, rtt_ms: 20, bandwidth_kbps: 1000, link_loss: 0, uptime_s: 60,
  location: null, approach: null, ...over,
});

const NODES: NodeOut[] = [
  node("n00001", { approach: "N", location: { lat: LAT + DLAT, lon: 4 } }),
  node("n00002", { approach: "S", location: { lat: LAT - DLAT, lon: 4 }, battery_soc: 0.1 }),
  node("n00003", { approach: "E", location: { lat: LAT, lon: 4 + DLON }, active: false, last_seen_ms: NOW - 120_000 }),
  node("n00004", { approach: "W", location: { lat: LAT, lon: 4 - DLON }, active: false, last_seen_ms: null }),
  node("n00005", { intersection: "i0001", approach: "N", location: { lat: LAT + DLAT, lon: 4 + 10 * DLON } }),
  node("n00006", { intersection: "i0001" }),
];

const q = (vehicles: number): QueueState => ({ node_id: "n00001", ts: NOW / 1000, vehicles, length_m: vehicles * 7, wait_s: null });
const INTERSECTIONS = [
  { intersection: "i0000", cameras: [], queues: { N: q(12), S: q(2), E: q(0.5) }, signal_plan: null, consensus: null },
  { intersection: "i0001", cameras: [], queues: { N: q(3) }, signal_plan: null, consensus: null },
];
const FIRING: Alert = {
  id: 7, rule_id: 1, node_id: "n00005", intersection: null, approach: null, severity: "critical", state: "firing",
  message: "battery.soc < 0.15", value: 0.1, created_ms: NOW, fired_ms: NOW, resolved_ms: null, updated_ms: NOW,
  acknowledged: false, acknowledged_by: null, acknowledged_ms: null, silence_id: null,
};

function serve(nodes: NodeOut[]) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string) => {
      const body = path.startsWith("/api/nodes")
        ? { total: nodes.length, limit: 1000, offset: 0, items: nodes }
        : path.startsWith("/api/intersections")
          ? { items: INTERSECTIONS }
          : { items: path.includes("state=firing") ? [FIRING] : [] };
      return new Response(JSON.stringify(body), { status: 200 });
    }),
  );
}

const show = () =>
  render(
    <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
      <CityMap />
    </MemoryRouter>,
  );
const xy = (testId: string) => {
  const dot = screen.getByTestId(testId).querySelector(".map-dot, .map-square")!;
  const x = Number(dot.getAttribute("cx") ?? Number(dot.getAttribute("x")) + Number(dot.getAttribute("width")) / 2);
  const y = Number(dot.getAttribute("cy") ?? Number(dot.getAttribute("y")) + Number(dot.getAttribute("height")) / 2);
  return { x, y };
};

describe("city map page", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("draws one marker per placed camera where its coordinates put it, north up, east right", async () => {
    serve(NODES);
    const { container } = show();
    await screen.findByTestId("city-map");
    expect(container.querySelectorAll(".map-camera")).toHaveLength(5);
    const [n, s, e, w] = ["n00001", "n00002", "n00003", "n00004"].map((id) => xy(`camera-${id}`));
    expect(n.y).toBeLessThan(s.y);
    expect(e.x).toBeGreaterThan(w.x);
    expect(n.x).toBeCloseTo(s.x, 6);
    // One scale for both axes: 80 m north-south is as long as 80 m east-west.
    expect(s.y - n.y).toBeCloseTo(e.x - w.x, 1);
    // The junction sits at its cameras' centroid; i0001 lies east of i0000.
    const j0 = xy("junction-i0000");
    expect(j0.x).toBeCloseTo((e.x + w.x) / 2, 1);
    expect(j0.y).toBeCloseTo((n.y + s.y) / 2, 1);
    expect(xy("junction-i0001").x).toBeGreaterThan(e.x);
    // Everything inside the drawing.
    const box = screen.getByTestId("city-map").getAttribute("viewBox")!.split(" ").map(Number);
    for (const id of ["camera-n00004", "camera-n00005"]) {
      const p = xy(id);
      expect(p.x).toBeGreaterThanOrEqual(VIEW_PAD - 1);
      expect(p.x).toBeLessThanOrEqual(box[2] - VIEW_PAD + 1);
    }
  });

  it("colours junctions by their worst approach queue and cameras by health, rings open alerts", async () => {
    serve(NODES);
    show();
    await screen.findByTestId("city-map");
    expect(screen.getByTestId("junction-i0000")).toHaveClass("level-high");
    expect(screen.getByTestId("junction-i0000").querySelector(".map-square")).toHaveClass("queue-high");
    expect(screen.getByTestId("junction-i0001")).toHaveClass("level-low");
    expect(screen.getByTestId("camera-n00001")).toHaveClass("health-active");
    expect(screen.getByTestId("camera-n00002")).toHaveClass("health-battery");
    expect(screen.getByTestId("camera-n00003")).toHaveClass("health-silent");
    expect(screen.getByTestId("camera-n00004")).toHaveClass("health-offline");
    expect(await screen.findByTestId("camera-n00005")).toHaveClass("has-alert");
    await vi.waitFor(() => expect(screen.getByTestId("camera-n00005").querySelector(".alert-ring")).not.toBeNull());
    expect(screen.getByTestId("camera-n00001").querySelector(".alert-ring")).toBeNull();
    expect(screen.getByTestId("camera-n00001")).not.toHaveClass("has-alert");
    expect(screen.getByTestId("camera-n00002")).toHaveAttribute("aria-label", expect.stringContaining("battery low, battery 10%"));
  });

  it("shows a camera's and a junction's details on hover and focus, and links to their pages", async () => {
    serve(NODES);
    show();
    await screen.findByTestId("city-map");
    const cam = screen.getByTestId("camera-n00002");
    expect(cam).toHaveAttribute("href", "/nodes?node=n00002");
    expect(screen.getByTestId("junction-i0000")).toHaveAttribute("href", "/intersections?intersection=i0000");
    expect(screen.queryByTestId("map-tip")).toBeNull();
    fireEvent.mouseEnter(cam);
    const tip = screen.getByTestId("map-tip");
    expect(tip).toHaveTextContent("n00002 · battery low");
    expect(tip).toHaveTextContent("i0000 · approach S");
    expect(tip).toHaveTextContent("battery 10%");
    expect(tip).toHaveTextContent(/last seen \ds ago/);
    fireEvent.mouseLeave(cam);
    expect(screen.queryByTestId("map-tip")).toBeNull();
    fireEvent.focus(screen.getByTestId("junction-i0000"));
    const lines = within(screen.getByTestId("map-tip")).getAllByText(/veh/).map((e) => e.textContent);
    expect(lines).toEqual(["N: 12.0 veh, 84 m", "E: 0.5 veh, 4 m", "S: 2.0 veh, 14 m"]);
    fireEvent.focus(await screen.findByTestId("camera-n00005"));
    await vi.waitFor(() => expect(screen.getByTestId("map-tip")).toHaveTextContent("firing: battery.soc < 0.15"));
  });

  it("keeps the legend visible, stating the thresholds, and counts nodes it cannot place", async () => {
    serve(NODES);
    show();
    const legend = await screen.findByTestId("map-legend");
    expect(legend).toHaveTextContent("spill-back: > 10 vehicles");
    expect(legend).toHaveTextContent("busy: 5–10 vehicles");
    expect(legend).toHaveTextContent("battery low: reporting, battery under 20%");
    expect(screen.getByTestId("map-unplaced")).toHaveTextContent("Not placed (1, no location reported): n00006");
  });

  it("explains where locations come from instead of drawing an empty map", async () => {
    serve(NODES.map((n) => ({ ...n, location: null })));
    show();
    expect(await screen.findByText(/No node has reported a location yet/)).toHaveTextContent("docs/deploy/provisioning.md");
    expect(screen.queryByTestId("city-map")).toBeNull();
    expect(screen.getByTestId("map-unplaced")).toHaveTextContent("Not placed (6,");
  });
});

describe("city map geometry", () => {
  it("puts a single node, or nodes all at one place, in the middle", () => {
    for (const pts of [[{ lat: 10, lon: 20 }], [{ lat: 10, lon: 20 }, { lat: 10, lon: 20 }]]) {
      const f = fitFrame(pts);
      expect(f.project(pts[0])).toEqual({ x: VIEW_W / 2, y: f.height / 2 });
    }
  });

  it("fits a north-south line into the padded height and an east-west one into the width", () => {
    const ns = fitFrame([{ lat: 0, lon: 0 }, { lat: 1, lon: 0 }]);
    expect(ns.project({ lat: 1, lon: 0 }).y).toBeCloseTo(VIEW_PAD);
    expect(ns.project({ lat: 0, lon: 0 }).y).toBeCloseTo(ns.height - VIEW_PAD);
    const ew = fitFrame([{ lat: 0, lon: 0 }, { lat: 0, lon: 1 }]);
    expect(ew.project({ lat: 0, lon: 0 }).x).toBeCloseTo(VIEW_PAD);
    expect(ew.project({ lat: 0, lon: 1 }).x).toBeCloseTo(VIEW_W - VIEW_PAD);
  });

  it("tells silent from offline by when the node was last heard", () => {
    const now = 1_000_000_000;
    expect(healthOf({ active: false, last_seen_ms: now - SILENT_MS, battery_soc: 0.9 }, 0.2, now)).toBe("silent");
    expect(healthOf({ active: false, last_seen_ms: now - SILENT_MS - 1, battery_soc: 0.9 }, 0.2, now)).toBe("offline");
    expect(healthOf({ active: false, last_seen_ms: now, battery_soc: 0.05 }, 0.2, now)).toBe("silent");
  });
});
