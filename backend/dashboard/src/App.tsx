/** Shell: sign-in gate, navigation, the live socket, and one error boundary per page. */
import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import { Navigate, NavLink, Route, Routes, useLocation } from "react-router-dom";
import { api } from "./api";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { ThemeButton } from "./components/ThemeButton";
import { Login } from "./pages/Login";
import { useAuth } from "./stores/auth";
import { LiveSocket, useLive } from "./stores/live";
import { useRange, withRange } from "./stores/range";
import { useSettings } from "./stores/settings";
import type { SystemStatus } from "./types";

const Overview = lazy(() => import("./pages/Overview"));
const Intersections = lazy(() => import("./pages/Intersections"));
const CityMap = lazy(() => import("./pages/CityMap"));
const Nodes = lazy(() => import("./pages/Nodes"));
const Detections = lazy(() => import("./pages/Detections"));
const Consensus = lazy(() => import("./pages/Consensus"));
const Analytics = lazy(() => import("./pages/Analytics"));
const Alerts = lazy(() => import("./pages/Alerts"));
const Playback = lazy(() => import("./pages/Playback"));
const Settings = lazy(() => import("./pages/Settings"));

export const PAGES: { path: string; title: string; element: ReactNode }[] = [
  { path: "/", title: "Overview", element: <Overview /> },
  { path: "/intersections", title: "Intersections", element: <Intersections /> },
  { path: "/map", title: "City map", element: <CityMap /> },
  { path: "/nodes", title: "Edge nodes", element: <Nodes /> },
  { path: "/detections", title: "Detections & logs", element: <Detections /> },
  { path: "/consensus", title: "Consensus", element: <Consensus /> },
  { path: "/analytics", title: "Analytics", element: <Analytics /> },
  { path: "/alerts", title: "Alerts", element: <Alerts /> },
  { path: "/playback", title: "Playback", element: <Playback /> },
  { path: "/settings", title: "Settings", element: <Settings /> },
];

function Shell() {
  const { username, role, logout } = useAuth();
  const connected = useLive((s) => s.connected);
  const site = useSettings((s) => s.site);
  const load = useSettings((s) => s.load);
  const setMaxPoints = useLive((s) => s.setMaxPoints);
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setMenuOpen(false), [location.pathname]);

  useEffect(() => {
    load().catch((e: unknown) => console.error("settings", e));
    const socket = new LiveSocket(() => useAuth.getState().access);
    socket.start();
    return () => {
      socket.stop();
      useLive.getState().reset();
    };
  }, [load]);
  useEffect(() => setMaxPoints(site.live_points), [site.live_points, setMaxPoints]);
  useEffect(() => useRange.getState().setDefault(site.default_range_min), [site.default_range_min]);
  const rangeSel = useRange((s) => s.sel);
  const rangeChosen = useRange((s) => s.chosen);
  const rangeSearch = rangeChosen ? withRange("", rangeSel) : "";
  // The socket pushes status every 2 s; while it is down, poll at the site's interval.
  useEffect(() => {
    if (connected) return;
    const poll = () =>
      api<SystemStatus>("/api/system/status")
        .then((s) => useLive.getState().onEvent("system", s))
        .catch(() => undefined);
    poll();
    const id = setInterval(poll, site.status_poll_s * 1000);
    return () => clearInterval(id);
  }, [connected, site.status_poll_s]);

  return (
    <div className="shell">
      <nav className="nav" aria-label="Main">
        <div className="brand">{site.site_name}</div>
        <div className="bar-end">
          <span className={connected ? "dot ok" : "dot"} title={connected ? "live" : "offline"} />
          <ThemeButton />
          <button type="button" className="menu-button" aria-expanded={menuOpen} aria-controls="nav-links" onClick={() => setMenuOpen(!menuOpen)}>
            Menu
          </button>
        </div>
        <div id="nav-links" className={menuOpen ? "nav-links open" : "nav-links"}>
          {PAGES.map((p) => (
            <NavLink key={p.path} to={{ pathname: p.path, search: rangeSearch }} end={p.path === "/"} onClick={() => setMenuOpen(false)}>
              {p.title}
            </NavLink>
          ))}
          <div className="who">
            <span data-testid="whoami">
              {username} ({role})
            </span>
            <button onClick={logout}>Sign out</button>
          </div>
        </div>
      </nav>
      <main className="main">
        <Routes>
          {PAGES.map((p) => (
            <Route
              key={p.path}
              path={p.path}
              element={
                <ErrorBoundary name={p.title}>
                  <Suspense fallback={<div className="empty">Loading…</div>}>{p.element}</Suspense>
                </ErrorBoundary>
              }
            />
          ))}
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </main>
    </div>
  );
}

export function App() {
  const access = useAuth((s) => s.access);
  return access ? <Shell /> : <Login />;
}
