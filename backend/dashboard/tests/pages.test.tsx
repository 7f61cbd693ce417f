/**
 * Components and pages fed the backend's real response shapes (copied from a running
 * `experiments.dashboard_server`): approaches are "N"/"S"/"E"/"W", a healthy PBFT round
 * has three digests, every round so far is in view 0.
 */
import { render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Junction } from "../src/components/Junction";
import Consensus from "../src/pages/Consensus";
import type { QueueState } from "../src/types";

const q = (vehicles: number): QueueState => ({ node_id: "n00000", ts: 1796305059.15, vehicles, length_m: vehicles * 3.5, wait_s: 0 });

describe("Junction with the API's approach names", () => {
  it("labels every arm N/S/E/W with its queue and draws the bars", () => {
    const { container } = render(<Junction name="i0000" queues={{ W: q(2.53), E: q(1.21), S: q(0.71), N: q(12) }} />);
    expect(screen.getByText("N 12.0")).toBeInTheDocument();
    expect(screen.getByText("S 0.7")).toBeInTheDocument();
    expect(screen.getByText("E 1.2")).toBeInTheDocument();
    expect(screen.getByText("W 2.5")).toBeInTheDocument();
    expect(screen.queryByText(/—/)).toBeNull();
    // No arm listed again as "unknown" below the schematic.
    expect(screen.queryByText(/N: 12/)).toBeNull();
    const bars = container.querySelectorAll("[data-arm]");
    expect(bars).toHaveLength(4);
    const north = container.querySelector('[data-arm="N"]')!;
    expect(Number(north.getAttribute("height"))).toBe(36); // 3 px per vehicle
  });

  it("also understands long names and shows a missing arm as —", () => {
    render(<Junction name="x" queues={{ north: q(4) }} />);
    expect(screen.getByText("N 4.0")).toBeInTheDocument();
    expect(screen.getByText("S —")).toBeInTheDocument();
  });

  it("lists approaches that are not compass arms below the schematic", () => {
    render(<Junction name="x" queues={{ N: q(1), ramp: q(3) }} />);
    expect(screen.getByText("ramp: 3.0")).toBeInTheDocument();
  });
});

const SUMMARY = {
  clusters: [
    { cluster: "i0000", rounds: 2, views: [0], view_changes: 0 },
    { cluster: "i0001", rounds: 2, views: [0, 1], view_changes: 1 },
  ],
  suspected: [],
  rejected: {},
};
const round = (cluster: string, number: number, conflicts: number) => ({
  cluster, view: 0, number, messages: 16, nodes: 4, phases: 5, digests: 3, conflicts,
  first_ts: 1796305035.0, last_ts: 1796305035.4, duration_ms: 405,
});

function serve(rounds: ReturnType<typeof round>[]) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string) => {
      const body = path.startsWith("/api/consensus/summary") ? SUMMARY : { items: rounds };
      return new Response(JSON.stringify(body), { status: 200 });
    }),
  );
}

describe("Consensus page", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("does not flag healthy rounds, however many digests their phases carry", async () => {
    serve([round("i0000", 2, 0), round("i0001", 2, 0)]);
    const { container } = render(<Consensus />);
    await screen.findByRole("heading", { name: "Rounds" });
    expect(container.querySelectorAll("[data-testid^=round-] .warn")).toHaveLength(0);
    expect(screen.getByText("No node disagreed with its cluster's majority.")).toBeInTheDocument();
  });

  it("flags a round in which one phase carried two digests", async () => {
    serve([round("i0000", 2, 0), round("i0001", 3, 1)]);
    render(<Consensus />);
    await screen.findByRole("heading", { name: "Rounds" });
    expect(screen.getByTestId("round-i0001-0-3").querySelector(".warn")).toHaveTextContent("1");
    expect(screen.getByTestId("round-i0000-0-2").querySelector(".warn")).toBeNull();
  });

  it("counts the views seen instead of printing view 0 as a count of 0", async () => {
    serve([round("i0000", 2, 0)]);
    render(<Consensus />);
    const cell = await screen.findByTestId("views-i0000");
    expect(cell).toHaveTextContent(/^1 \(view 0\)$/);
    await waitFor(() => expect(screen.getByTestId("views-i0001")).toHaveTextContent(/^2 \(views 0, 1\)$/));
  });
});
