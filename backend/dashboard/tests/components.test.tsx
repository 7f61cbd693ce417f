import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ErrorBoundary } from "../src/components/ErrorBoundary";
import { barLength, Junction } from "../src/components/Junction";
import { filterParams } from "../src/pages/Detections";
import { filterNodes, type NodeRow } from "../src/pages/Nodes";
import { advance } from "../src/pages/Playback";
import { autoBucket } from "../src/pages/Analytics";
import { validateRule, EMPTY_RULE, parseNumber, silenceFor } from "../src/pages/Alerts";
import { firingNow } from "../src/pages/Overview";
import { place } from "../src/format";
import type { Alert } from "../src/types";
import { bucketFor, byTime } from "../src/components/QueueHistory";
import { Tile } from "../src/components/Bits";

function Boom(): JSX.Element {
  throw new Error("widget exploded");
}

describe("ErrorBoundary", () => {
  it("contains a failing child and leaves siblings rendered", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    render(
      <div>
        <ErrorBoundary name="bad">
          <Boom />
        </ErrorBoundary>
        <Tile label="ok" value="42" />
      </div>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("bad failed: widget exploded");
    expect(screen.getByText("42")).toBeInTheDocument();
    fireEvent.click(screen.getByText("Retry"));
    expect(screen.getByRole("alert")).toBeInTheDocument();
  });
});

const node = (id: string, over: Partial<NodeRow> = {}): NodeRow => ({
  node_id: id, intersection: "int-1", registered: false, active: true, first_seen_ms: 0, last_seen_ms: 0,
  received: 0, lost: 0, bytes_received: 0, discarded: 0, deferred: 0, dropped: 0, battery_soc: 0.5,
  power_w: 5, mode: "full", tier_kbps: 1500, rtt_ms: 20, bandwidth_kbps: 1000, link_loss: 0, uptime_s: 1,
  location: null, approach: null, cpu: null, mem_mb: null, ...over,
});

describe("pure page logic", () => {
  it("filters and sorts nodes with nulls last", () => {
    const rows = [node("b", { battery_soc: 0.9 }), node("a", { battery_soc: null }), node("c", { battery_soc: 0.1, active: false, mode: "reduced" })];
    expect(filterNodes(rows, "", "all", "all", "battery_soc", true).map((n) => n.node_id)).toEqual(["c", "b", "a"]);
    expect(filterNodes(rows, "", "all", "all", "battery_soc", false).map((n) => n.node_id)).toEqual(["b", "c", "a"]);
    expect(filterNodes(rows, "", "inactive", "all", "node_id", true).map((n) => n.node_id)).toEqual(["c"]);
    expect(filterNodes(rows, "", "all", "reduced", "node_id", true).map((n) => n.node_id)).toEqual(["c"]);
    expect(filterNodes(rows, "B", "all", "all", "node_id", true).map((n) => n.node_id)).toEqual(["b"]);
  });

  it("maps filters onto the API's parameters per dataset", () => {
    const f = { node_id: " cam-1 ", cls: "car", intersection: "", level: "error" };
    expect(filterParams("detections", f, { since: 5, until: null })).toEqual({ node_id: "cam-1", since: 5, until: null, cls: "car", intersection: null });
    expect(filterParams("logs", f, { since: null, until: 9 })).toEqual({ node_id: "cam-1", since: null, until: 9, level: "error" });
  });

  it("advances playback and stops at the end", () => {
    expect(advance(10, 5, 100)).toEqual({ t: 15, done: false });
    expect(advance(98, 5, 100)).toEqual({ t: 100, done: true });
  });

  it("picks buckets that keep series under 300 points", () => {
    expect(autoBucket({ since: 0, until: 3600 })).toBe(60);
    expect(autoBucket({ since: 0, until: 86_400 })).toBe(300);
    expect(autoBucket({ since: 0, until: 86_400 * 30 })).toBe(21_600);
  });

  it("validates rules like the server", () => {
    expect(validateRule(EMPTY_RULE)).toBe("name is required");
    expect(validateRule({ ...EMPTY_RULE, name: "q", action: "webhook" })).toMatch(/webhook/);
    expect(validateRule({ ...EMPTY_RULE, name: "q" })).toBeNull();
  });

  it("keeps an emptied threshold empty instead of turning it into 0", () => {
    expect(parseNumber("")).toBeNull();
    expect(parseNumber("  ")).toBeNull();
    expect(parseNumber("0")).toBe(0);
    expect(validateRule({ ...EMPTY_RULE, name: "q", threshold: parseNumber("") })).toBe("threshold is required");
  });
});

const ALERT: Alert = {
  id: 1, rule_id: 3, node_id: "cam-7", intersection: "i0002", approach: "N", severity: "warning", state: "firing",
  message: "queue spill-back", value: 240, created_ms: 1, fired_ms: 2, resolved_ms: null, updated_ms: 2,
  acknowledged: false, acknowledged_by: null, acknowledged_ms: null, silence_id: null,
};

describe("alerts", () => {
  it("name the intersection and approach, or the node alone", () => {
    expect(place(ALERT)).toBe("i0002 approach N · cam-7");
    expect(place({ ...ALERT, intersection: null, approach: null })).toBe("cam-7");
  });

  it("leave the firing list when a live event resolves or acknowledges them", () => {
    expect(firingNow([], [ALERT]).map((a) => a.id)).toEqual([1]);
    expect(firingNow([{ ...ALERT, state: "resolved" }], [ALERT])).toEqual([]);
    expect(firingNow([{ ...ALERT, acknowledged: true }], [ALERT])).toEqual([]);
    expect(firingNow([{ ...ALERT, id: 2, state: "pending" }], [])).toEqual([]);
  });

  it("silence a cluster-wide alert by intersection, a camera's by node", () => {
    expect(silenceFor(ALERT, "queue.length_m")).toMatchObject({ rule_id: 3, node_id: "cam-7", intersection: "i0002" });
    expect(silenceFor(ALERT, "consensus.view_change")).toMatchObject({ node_id: null, intersection: "i0002" });
  });
});

describe("Junction", () => {
  it("draws queues to scale and labels each arm", () => {
    expect(barLength(2)).toBe(6);
    expect(barLength(1000)).toBe(75);
    render(<Junction name="int-1" queues={{ north: { node_id: "a", ts: 0, vehicles: 4, length_m: 24, wait_s: null } }} />);
    expect(screen.getByRole("img", { name: "intersection int-1" })).toBeInTheDocument();
    expect(screen.getByText("N 4.0")).toBeInTheDocument();
    expect(screen.getByText("S —")).toBeInTheDocument();
  });
});

describe("Login", () => {
  it("signs in through the auth store and shows the server's refusal", async () => {
    const { Login } = await import("../src/pages/Login");
    const { useAuth } = await import("../src/stores/auth");
    const token = `h.${btoa(JSON.stringify({ role: "operator" }))}.s`;
    const fetchMock = vi
      .fn()
      .mockResolvedValueOnce(new Response("{}", { status: 401 }))
      .mockResolvedValueOnce(new Response(JSON.stringify({ access_token: token, refresh_token: "r" }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    useAuth.getState().logout();
    render(<Login />);
    const button = screen.getByRole("button", { name: "Sign in" });
    expect(button).toBeDisabled();
    fireEvent.change(screen.getByLabelText("Username"), { target: { value: "op" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "pw" } });
    fireEvent.click(button);
    expect(await screen.findByRole("alert")).toHaveTextContent("Invalid username or password");
    fireEvent.click(button);
    await vi.waitFor(() => expect(useAuth.getState().role).toBe("operator"));
    expect(useAuth.getState().username).toBe("op");
    expect(JSON.parse(fetchMock.mock.calls[1][1].body)).toEqual({ username: "op", password: "pw" });
    vi.unstubAllGlobals();
  });
});

describe("QueueHistory", () => {
  it("puts the approaches' buckets side by side in time order, skipping empty buckets", () => {
    const p = (t: number, mean: number | null) => ({ t, n: 1, sum: mean ?? 0, mean, max: mean ?? 0 });
    expect(byTime({ N: [p(120, 4), p(60, 2)], E: [p(60, 1), p(180, null)] })).toEqual([
      { t: 60, N: 2, E: 1 },
      { t: 120, N: 4 },
    ]);
  });

  it("uses minute buckets for an hour and coarser ones for a day", () => {
    expect(bucketFor(3600)).toBe(60);
    expect(bucketFor(86_400)).toBe(1440);
  });
});
