import { act, fireEvent, render, screen } from "@testing-library/react";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { VirtualItem } from "@tanstack/react-virtual";
import { OVERSCAN, ROW_H, slotted, VirtualRows } from "../src/components/VirtualRows";
import { clockCacheSize, time } from "../src/format";

const item = (index: number): VirtualItem => ({ index, key: index, start: index * ROW_H, end: (index + 1) * ROW_H, size: ROW_H, lane: 0 });
const window = (first: number, n: number) => Array.from({ length: n }, (_, i) => item(first + i));

describe("slotted", () => {
  it("gives unique keys in a fixed order and reuses the slot of the row that left", () => {
    const a = slotted(window(10, 8), 8);
    expect(a.map((s) => s.key)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const b = slotted(window(11, 8), 8);
    expect(new Set(b.map((s) => s.key)).size).toBe(8);
    // Row 10 left, row 18 came in: it takes row 10's slot; rows 11..17 keep theirs.
    expect(b.find((s) => s.item.index === 18)!.key).toBe(a.find((s) => s.item.index === 10)!.key);
    for (let i = 11; i < 18; i++) expect(b.find((s) => s.item.index === i)!.key).toBe(a.find((s) => s.item.index === i)!.key);
  });

  it("stays unique when the window is shorter or longer than the slots seen", () => {
    expect(new Set(slotted(window(3, 5), 8).map((s) => s.key)).size).toBe(5);
    expect(new Set(slotted(window(3, 12), 8).map((s) => s.key)).size).toBe(12);
    expect(slotted([], 0)).toEqual([]);
  });
});

describe("VirtualRows", () => {
  const height = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "clientHeight");
  beforeAll(() => {
    Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 10 * ROW_H });
  });
  afterAll(() => {
    if (height) Object.defineProperty(HTMLElement.prototype, "clientHeight", height);
  });

  it("renders only the window, and a one-row scroll renders one row in a reused node", () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: i }));
    const cells = vi.fn((r: { id: number }) => <span>row {r.id}</span>);
    render(<VirtualRows rows={rows} render={cells} />);
    const first = screen.getAllByTestId("vrow");
    expect(first.length).toBe(10 + OVERSCAN);
    expect(screen.getByText("row 0")).toBeInTheDocument();
    const list = screen.getByTestId("vlist");
    cells.mockClear();
    // Far enough down that overscan surrounds the window on both sides, then one row more.
    act(() => {
      list.scrollTop = 100 * ROW_H;
      fireEvent.scroll(list);
    });
    const before = screen.getAllByTestId("vrow");
    expect(before.length).toBe(10 + 2 * OVERSCAN);
    expect(screen.getByText("row 100")).toBeInTheDocument();
    expect(screen.queryByText("row 0")).toBeNull();
    cells.mockClear();
    act(() => {
      list.scrollTop = 101 * ROW_H;
      fireEvent.scroll(list);
    });
    const after = screen.getAllByTestId("vrow");
    expect(cells).toHaveBeenCalledTimes(1);
    expect(cells.mock.calls[0][0]).toEqual({ id: 101 + 10 + OVERSCAN - 1 });
    // Every DOM row is one that was there before: the row that left was reused.
    expect(after.every((el) => before.includes(el))).toBe(true);
    expect(screen.getByText(`row ${101 + 10 + OVERSCAN - 1}`)).toBeInTheDocument();
    expect(screen.queryByText(`row ${100 - OVERSCAN}`)).toBeNull();
  });
});

describe("time", () => {
  it("formats like toLocaleTimeString and formats each second once", () => {
    const t = 1_764_000_000;
    expect(time(t + 0.7)).toBe(new Date((t + 0.7) * 1000).toLocaleTimeString());
    const size = clockCacheSize();
    for (let i = 0; i < 100; i++) time(t + 1 + (i % 10) / 10);
    expect(clockCacheSize()).toBe(size + 1);
    expect(time(null)).toBe("—");
  });
});
