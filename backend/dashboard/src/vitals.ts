/**
 * Web-vitals (TTFB, FCP, LCP, CLS, INP) and the page-load time, batched to the backend
 * (POST /api/dashboard/vitals) and logged to the console as "[vitals]" lines.
 */
import { onCLS, onFCP, onINP, onLCP, onTTFB, type Metric } from "web-vitals";
import { useAuth } from "./stores/auth";

interface Vital {
  name: string;
  value: number;
  rating?: string;
  page: string;
}

const pending: Vital[] = [];
let timer: ReturnType<typeof setTimeout> | null = null;

function flush(): void {
  timer = null;
  const token = useAuth.getState().access;
  if (!token || pending.length === 0) return; // kept until signed in
  const batch = pending.splice(0, pending.length);
  void fetch("/api/dashboard/vitals", {
    method: "POST",
    keepalive: true,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(batch),
  }).catch(() => undefined);
}

export function record(name: string, value: number, rating?: string): void {
  console.info(`[vitals] ${name}=${value.toFixed(name === "CLS" ? 4 : 1)}`);
  pending.push({ name, value, rating, page: location.pathname.slice(0, 256) });
  if (!timer) timer = setTimeout(flush, 1000);
}

export function startVitals(): void {
  const report = (m: Metric) => record(m.name, m.value, m.rating);
  onTTFB(report);
  onFCP(report);
  onLCP(report, { reportAllChanges: true });
  onCLS(report, { reportAllChanges: true });
  onINP(report, { reportAllChanges: true });
  addEventListener("load", () => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
    if (nav) setTimeout(() => record("load", nav.loadEventStart), 0);
  });
  addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });
  useAuth.subscribe((s) => {
    if (s.access && pending.length && !timer) timer = setTimeout(flush, 200);
  });
}
