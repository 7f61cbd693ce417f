/**
 * The width of an element, followed as it changes, for react-grid-layout.
 *
 * Not the library's WidthProvider: with `measureBeforeMount` it observes a placeholder
 * div, measures it, then replaces it with the grid; the observer stays on the detached
 * placeholder, whose size drops to 0 as it leaves the page, so the grid is laid out at
 * zero width (every widget in the top-left corner) and never measured again: not on a
 * window resize, a navigation or a layout reset. Here the observed element is a wrapper
 * that lives as long as the grid, which is rendered only once the wrapper has a width.
 */
import { useLayoutEffect, useRef, useState } from "react";
import type { LayoutItem } from "./types";

/** The border-box width of ``ref``'s element (0 until measured), kept current. */
export function useWidth<T extends HTMLElement>(): [React.RefObject<T>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      // A detached (or momentarily unlaid-out) element measures 0: keep the last real
      // width rather than collapse the grid, or unmount and remount every widget.
      const w = Math.floor(el.getBoundingClientRect().width);
      if (el.isConnected && w > 0) setWidth(w);
    };
    measure();
    if (typeof ResizeObserver === "undefined") {
      addEventListener("resize", measure);
      return () => removeEventListener("resize", measure);
    }
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** A layout as one full-width column, in reading order (top to bottom, left to right):
 * what a phone shows instead of twelve columns a few pixels wide each. */
export function stacked(layout: LayoutItem[], cols = 12): LayoutItem[] {
  let y = 0;
  return [...layout]
    .sort((a, b) => a.y - b.y || a.x - b.x)
    .map((l) => {
      const item = { ...l, x: 0, y, w: cols };
      y += l.h;
      return item;
    });
}
