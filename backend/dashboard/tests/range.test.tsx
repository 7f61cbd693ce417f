import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { TimeRange } from "../src/components/Bits";
import { ALL, fromQuery, resolve, toQuery, useRange, withRange } from "../src/stores/range";

describe("global time range", () => {
  it("round-trips through the address", () => {
    for (const sel of [{ preset: 15, since: null, until: null }, { preset: 1440, since: null, until: null }, ALL, { preset: null, since: 1000, until: 2000 }, { preset: null, since: 1000, until: null }]) {
      expect(fromQuery(`?${toQuery(sel)}`)).toEqual(sel);
    }
    expect(toQuery({ preset: 60, since: null, until: null }).toString()).toBe("range=1h");
    expect(fromQuery("?range=bogus")).toBeNull();
    expect(fromQuery("?since=abc")).toBeNull();
    expect(fromQuery("")).toBeNull();
    expect(withRange("?x=1&since=5", { preset: 15, since: null, until: null })).toBe("?x=1&range=15m");
  });

  it("slides a preset with the clock, keeps explicit bounds", () => {
    expect(resolve({ preset: 15, since: null, until: null }, 10_000)).toEqual({ since: 10_000 - 900, until: null });
    expect(resolve({ preset: null, since: 5, until: 9 }, 10_000)).toEqual({ since: 5, until: 9 });
  });

  it("is one selection for every picker, written into the address; the site default yields to a choice", () => {
    useRange.setState({ sel: { preset: 60, since: null, until: null }, chosen: false });
    useRange.getState().setDefault(30);
    expect(useRange.getState().sel.preset).toBe(30);
    render(
      <>
        <div data-testid="a"><TimeRange /></div>
        <div data-testid="b"><TimeRange /></div>
      </>,
    );
    fireEvent.click(screen.getAllByRole("button", { name: "15m" })[0]);
    for (const b of screen.getAllByRole("button", { name: "15m" })) expect(b).toHaveAttribute("aria-pressed", "true");
    expect(location.search).toBe("?range=15m");
    useRange.getState().setDefault(120);
    expect(useRange.getState().sel.preset).toBe(15);
    fireEvent.click(screen.getAllByRole("button", { name: "all" })[1]);
    expect(location.search).toBe("?range=all");
    expect(screen.getAllByRole("button", { name: "all" })[0]).toHaveAttribute("aria-pressed", "true");
  });
});
