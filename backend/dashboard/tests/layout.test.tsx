import { act, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { stacked, useWidth } from "../src/layout";
import { byCompass } from "../src/components/Junction";
import { defaultLayout } from "../src/stores/settings";
import { effective, THEME_KEY, useTheme } from "../src/theme";

describe("overview grid width", () => {
  let observed: { cb: ResizeObserverCallback; el: Element } | null = null;
  class FakeObserver {
    constructor(private cb: ResizeObserverCallback) {}
    observe(el: Element) {
      observed = { cb: this.cb, el };
    }
    disconnect() {
      observed = null;
    }
    unobserve() {}
  }
  afterEach(() => vi.unstubAllGlobals());

  function Probe() {
    const [ref, width] = useWidth<HTMLDivElement>();
    return (
      <div ref={ref} data-testid="frame">
        {width}
      </div>
    );
  }

  it("follows its element's width, and a detached element's 0 does not collapse it", () => {
    vi.stubGlobal("ResizeObserver", FakeObserver);
    let w = 1408;
    vi.spyOn(HTMLElement.prototype, "getBoundingClientRect").mockImplementation(() => ({ width: w }) as DOMRect);
    const { unmount } = render(<Probe />);
    expect(screen.getByTestId("frame")).toHaveTextContent("1408"); // measured before the first paint
    w = 968;
    act(() => observed!.cb([], observed as unknown as ResizeObserver));
    expect(screen.getByTestId("frame")).toHaveTextContent("968");
    const frame = screen.getByTestId("frame");
    const cb = observed!.cb;
    const parent = frame.parentElement!;
    frame.remove(); // what WidthProvider's observed placeholder goes through
    w = 0;
    act(() => cb([], {} as ResizeObserver));
    expect(frame).toHaveTextContent("968");
    parent.appendChild(frame);
    unmount();
  });

  it("stacks a phone's widgets in one column, in reading order, none overlapping", () => {
    const s = stacked(defaultLayout());
    expect(s.map((l) => l.i)).toEqual(["nodes", "detections", "bandwidth", "energy", "latency", "chart-detections", "chart-latency", "alerts"]);
    expect(s.every((l) => l.x === 0 && l.w === 12)).toBe(true);
    for (let i = 1; i < s.length; i++) expect(s[i].y).toBe(s[i - 1].y + s[i - 1].h);
  });
});

describe("theme", () => {
  afterEach(() => localStorage.clear());

  it("follows the system until chosen, and keeps the choice", () => {
    expect(effective("system", true)).toBe("dark");
    expect(effective("system", false)).toBe("light");
    expect(effective("light", true)).toBe("light");
    useTheme.getState().choose("dark");
    expect(localStorage.getItem(THEME_KEY)).toBe("dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    useTheme.getState().toggle();
    expect(useTheme.getState().theme).toBe("light");
    expect(localStorage.getItem(THEME_KEY)).toBe("light");
    useTheme.getState().choose("system");
    expect(localStorage.getItem(THEME_KEY)).toBeNull();
  });
});

describe("intersection queues", () => {
  it("are listed in compass order whatever the API's key order", () => {
    expect(["W", "E", "S", "N", "ramp"].sort(byCompass)).toEqual(["N", "E", "S", "W", "ramp"]);
    expect(["south", "north"].sort(byCompass)).toEqual(["north", "south"]);
  });
});

describe("durations", () => {
  it("read in the unit that fits, never as five-digit milliseconds", async () => {
    const { duration } = await import("../src/format");
    expect(duration(41.6)).toBe("42 ms");
    expect(duration(1320)).toBe("1.3 s");
    expect(duration(89_305)).toBe("1.5 min");
    expect(duration(null)).toBe("—");
  });
});
