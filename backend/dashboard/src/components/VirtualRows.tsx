/**
 * A virtual list of fixed-height rows, built to keep scrolling at the display's frame rate:
 *  - it owns the virtualizer, so a scroll re-renders this list only, never the page
 *    around it (toolbar, filters, time range);
 *  - rows are keyed by slot (index modulo the window size): a row scrolled out at one
 *    end is reused, with new content, for the row coming in at the other, so a fling
 *    updates text in existing DOM nodes instead of creating and discarding rows, and
 *    rows that stay in view keep their props and skip rendering (memo);
 *  - slots are rendered in a fixed order and placed by transform, so React never moves
 *    DOM nodes; every row has a fixed height under `contain: strict` (styles.css), so
 *    laying one out never touches the others.
 */
import { useVirtualizer, type VirtualItem } from "@tanstack/react-virtual";
import { memo, useRef, type ReactNode } from "react";

export const ROW_H = 28;
export const OVERSCAN = 6;

/** The visible items in slot order, each with its slot key; ``slots`` only ever grows, so
 * keys stay stable while the window slides, and are unique within any window that fits. */
export function slotted(items: VirtualItem[], slots: number): { key: number; item: VirtualItem }[] {
  const size = Math.max(slots, items.length, 1);
  return items.map((item) => ({ key: item.index % size, item })).sort((a, b) => a.key - b.key);
}

interface RowProps<T> {
  row: T;
  start: number;
  render: (row: T) => ReactNode;
}

function RowImpl<T>({ row, start, render }: RowProps<T>) {
  return (
    <div className="vrow" data-testid="vrow" style={{ transform: `translateY(${start}px)` }}>
      {render(row)}
    </div>
  );
}

const Row = memo(RowImpl) as typeof RowImpl;

export function VirtualRows<T>({ rows, render }: { rows: T[]; render: (row: T) => ReactNode }) {
  const parent = useRef<HTMLDivElement>(null);
  const slots = useRef(0);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => ROW_H,
    overscan: OVERSCAN,
  });
  const items = virtual.getVirtualItems();
  slots.current = Math.max(slots.current, items.length);
  return (
    <div ref={parent} className="vlist" data-testid="vlist">
      <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
        {slotted(items, slots.current).map(({ key, item }) => (
          <Row key={key} row={rows[item.index]} start={item.start} render={render} />
        ))}
      </div>
    </div>
  );
}
