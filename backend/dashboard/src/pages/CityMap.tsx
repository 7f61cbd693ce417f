/** The city at a glance: every placed camera and intersection drawn from the nodes' own
 * coordinates (no map tiles), coloured by queue, node health and open alerts. */
import { useState } from "react";
import { Link } from "react-router-dom";
import { api, qs } from "../api";
import { Empty, LoadError } from "../components/Bits";
import { BUSY_VEH, byCompass, LEVEL_NAMES, SPILL_VEH, type QueueLevel } from "../components/Junction";
import { HEALTH_NAMES, layoutCity, SILENT_MS, type CityLayout, type Health, type PlacedCamera, type PlacedJunction, type Point } from "../cityMap";
import { ago, num, pct } from "../format";
import { useLoad } from "../hooks";
import { useLive } from "../stores/live";
import { useSettings } from "../stores/settings";
import type { Alert, NodeOut, QueueState } from "../types";

const CAMERA_R = 5.5;
const JUNCTION_HALF = 8;

type Tip = { kind: "camera"; camera: PlacedCamera } | { kind: "junction"; junction: PlacedJunction };

const cameraLabel = (c: PlacedCamera) =>
  `camera ${c.node.node_id}${c.node.intersection ? `, ${c.node.intersection}` : ""}${c.node.approach ? ` approach ${c.node.approach}` : ""}, ` +
  `${HEALTH_NAMES[c.health]}, battery ${pct(c.node.battery_soc)}${c.alerts.length ? `, ${c.alerts.length} open alert${c.alerts.length > 1 ? "s" : ""}` : ""}`;

const junctionLabel = (j: PlacedJunction) =>
  `intersection ${j.name}, worst queue ${j.worst === null ? "no data" : `${num(j.worst, 1)} vehicles (${LEVEL_NAMES[j.level]})`}` +
  `${j.alerts.length ? `, ${j.alerts.length} open alert${j.alerts.length > 1 ? "s" : ""}` : ""}`;

/** A camera: a dot coloured by health, ringed when an alert on it is open; a larger
 * transparent circle behind it is the touch and focus target. Links to its node detail. */
function CameraMarker({ camera, onTip }: { camera: PlacedCamera; onTip: (t: Tip | null) => void }) {
  const { x, y } = camera.at;
  const show = () => onTip({ kind: "camera", camera });
  return (
    <Link
      to={`/nodes${qs({ node: camera.node.node_id })}`}
      className={`map-marker map-camera health-${camera.health}${camera.alerts.length ? " has-alert" : ""}`}
      data-testid={`camera-${camera.node.node_id}`}
      data-x={x.toFixed(1)}
      data-y={y.toFixed(1)}
      aria-label={cameraLabel(camera)}
      aria-describedby="map-tip"
      onMouseEnter={show}
      onFocus={show}
      onMouseLeave={() => onTip(null)}
      onBlur={() => onTip(null)}
    >
      <circle className="map-hit" cx={x} cy={y} r={CAMERA_R + 7} />
      {camera.alerts.length ? <circle className="alert-ring" cx={x} cy={y} r={CAMERA_R + 3} /> : null}
      <circle className="map-dot" cx={x} cy={y} r={CAMERA_R} />
    </Link>
  );
}

/** An intersection: a square coloured by its worst approach queue, named beside it
 * (diagonally, where no camera on an approach stands, and towards the middle of the map so
 * that the name is not cut at its edge). Links to its Intersections card. */
function JunctionMarker({ junction, width, onTip }: { junction: PlacedJunction; width: number; onTip: (t: Tip | null) => void }) {
  const { x, y } = junction.at;
  const left = x > width / 2;
  const show = () => onTip({ kind: "junction", junction });
  const h = JUNCTION_HALF;
  return (
    <Link
      to={`/intersections${qs({ intersection: junction.name })}`}
      className={`map-marker map-junction level-${junction.level}${junction.alerts.length ? " has-alert" : ""}`}
      data-testid={`junction-${junction.name}`}
      data-x={x.toFixed(1)}
      data-y={y.toFixed(1)}
      aria-label={junctionLabel(junction)}
      aria-describedby="map-tip"
      onMouseEnter={show}
      onFocus={show}
      onMouseLeave={() => onTip(null)}
      onBlur={() => onTip(null)}
    >
      <rect className="map-hit" x={x - h - 6} y={y - h - 6} width={2 * h + 12} height={2 * h + 12} />
      {junction.alerts.length ? <rect className="alert-ring" x={x - h - 3} y={y - h - 3} width={2 * h + 6} height={2 * h + 6} /> : null}
      <rect className={`map-square queue-${junction.level}`} x={x - h} y={y - h} width={2 * h} height={2 * h} />
      <text className="map-label" x={left ? x - h - 3 : x + h + 3} y={y - h - 5} textAnchor={left ? "end" : "start"}>
        {junction.name}
      </text>
    </Link>
  );
}

function QueueLines({ queues }: { queues: Record<string, QueueState> }) {
  const entries = Object.entries(queues).sort(([a], [b]) => byCompass(a, b));
  if (!entries.length) return <div>no queue observation in the last hour</div>;
  return (
    <>
      {entries.map(([a, q]) => (
        <div key={a}>
          {a}: {num(q.vehicles, 1)} veh, {num(q.length_m)} m
        </div>
      ))}
    </>
  );
}

/** The hovered or focused marker's details, placed beside it in the map's own
 * percentages (so it follows the SVG's scaling) and turned inwards near an edge. */
function MapTip({ tip, width, height }: { tip: Tip | null; width: number; height: number }) {
  if (!tip) return <div id="map-tip" role="tooltip" hidden />;
  const at: Point = tip.kind === "camera" ? tip.camera.at : tip.junction.at;
  const fx = at.x / width;
  const fy = at.y / height;
  const style = {
    left: `${fx * 100}%`,
    top: `${fy * 100}%`,
    transform: `translate(${fx < 0.35 ? "0" : fx > 0.65 ? "-100%" : "-50%"}, ${fy < 0.5 ? "14px" : "calc(-100% - 14px)"})`,
  };
  const alerts: Alert[] = tip.kind === "camera" ? tip.camera.alerts : tip.junction.alerts;
  return (
    <div id="map-tip" role="tooltip" className="map-tip" style={style} data-testid="map-tip">
      {tip.kind === "camera" ? (
        <>
          <strong>{tip.camera.node.node_id}</strong> · {HEALTH_NAMES[tip.camera.health]}
          <div>
            {tip.camera.node.intersection ?? "no intersection"}
            {tip.camera.node.approach ? ` · approach ${tip.camera.node.approach}` : ""}
          </div>
          <div>battery {pct(tip.camera.node.battery_soc)}</div>
          <div>last seen {ago(tip.camera.node.last_seen_ms)}</div>
        </>
      ) : (
        <>
          <strong>{tip.junction.name}</strong> · {tip.junction.cameras.length} camera{tip.junction.cameras.length === 1 ? "" : "s"}
          <QueueLines queues={tip.junction.queues} />
        </>
      )}
      {alerts.map((a) => (
        <div key={a.id} className={`sev-${a.severity}`}>
          {a.state}: {a.message}
        </div>
      ))}
    </div>
  );
}

function MapDrawing({ city }: { city: CityLayout }) {
  const [tip, setTip] = useState<Tip | null>(null);
  const { width, height } = city.frame;
  // Wide enough for the page, never taller than three quarters of the window.
  const maxWidth = `min(100%, ${((75 * width) / height).toFixed(1)}vh)`;
  return (
    <div className="map-frame" style={{ maxWidth }}>
      <svg viewBox={`0 0 ${width} ${height}`} className="city-map" role="group" aria-label="city map" data-testid="city-map">
        {city.junctions.flatMap((j) =>
          j.cameras.map((c) => <line key={`${j.name}-${c.node.node_id}`} className="map-link" x1={j.at.x} y1={j.at.y} x2={c.at.x} y2={c.at.y} />),
        )}
        {city.junctions.map((j) => (
          <JunctionMarker key={j.name} junction={j} width={width} onTip={setTip} />
        ))}
        {city.cameras.map((c) => (
          <CameraMarker key={c.node.node_id} camera={c} onTip={setTip} />
        ))}
      </svg>
      <MapTip tip={tip} width={width} height={height} />
    </div>
  );
}

/** Swatches drawn with the markers' own classes, so the legend cannot disagree with the map. */
function MapLegend({ lowSoc }: { lowSoc: number }) {
  const levels: [QueueLevel, string][] = [
    ["low", `≤ ${BUSY_VEH} vehicles`],
    ["mid", `${BUSY_VEH}–${SPILL_VEH} vehicles`],
    ["high", `> ${SPILL_VEH} vehicles`],
    ["none", "no queue observed"],
  ];
  const health: [Health, string][] = [
    ["active", "reporting now"],
    ["battery", `reporting, battery under ${pct(lowSoc)}`],
    ["silent", `not reporting, heard within ${SILENT_MS / 60_000} min`],
    ["offline", `not heard for ${SILENT_MS / 60_000} min, or never`],
  ];
  return (
    <aside className="map-legend" aria-label="legend" data-testid="map-legend">
      <h4>Intersection: worst approach queue</h4>
      <ul className="plain">
        {levels.map(([level, text]) => (
          <li key={level}>
            <svg viewBox="0 0 16 16" className="swatch" aria-hidden="true">
              <rect className={`map-square queue-${level}`} x="2" y="2" width="12" height="12" />
            </svg>
            {LEVEL_NAMES[level]}: {text}
          </li>
        ))}
      </ul>
      <h4>Camera: node health</h4>
      <ul className="plain">
        {health.map(([h, text]) => (
          <li key={h} className={`health-${h}`}>
            <svg viewBox="0 0 16 16" className="swatch" aria-hidden="true">
              <circle className="map-dot" cx="8" cy="8" r="5" />
            </svg>
            {HEALTH_NAMES[h]}: {text}
          </li>
        ))}
        <li>
          <svg viewBox="0 0 16 16" className="swatch" aria-hidden="true">
            <circle className="alert-ring" cx="8" cy="8" r="6" />
          </svg>
          ring: an alert is firing or pending
        </li>
      </ul>
      <p className="note">Hover or focus a marker for details; select it to open the node or intersection.</p>
    </aside>
  );
}

export default function CityMap() {
  const site = useSettings((s) => s.site);
  const liveAlerts = useLive((s) => s.alerts.length);
  const every = site.status_poll_s * 1000;
  const nodes = useLoad(() => api<{ items: NodeOut[] }>("/api/nodes?limit=1000"), [], every);
  const places = useLoad(() => api<{ items: { intersection: string; queues: Record<string, QueueState> }[] }>("/api/intersections"), [], every);
  // Open means firing or pending, as on the Alerts page; refetched when one arrives live.
  const open = useLoad(async () => {
    const [firing, pending] = await Promise.all([
      api<{ items: Alert[] }>(`/api/alerts${qs({ state: "firing", limit: 500 })}`),
      api<{ items: Alert[] }>(`/api/alerts${qs({ state: "pending", limit: 500 })}`),
    ]);
    return [...firing.items, ...pending.items];
  }, [liveAlerts], every);
  const city = nodes.data ? layoutCity(nodes.data.items, places.data?.items ?? [], open.data ?? [], site.low_battery_soc, Date.now()) : null;

  return (
    <div>
      <div className="toolbar">
        <h2>City map</h2>
        {city ? (
          <span data-testid="map-counts">
            {city.cameras.length} cameras · {city.junctions.length} intersections placed
          </span>
        ) : null}
      </div>
      <LoadError error={nodes.error ?? places.error ?? open.error} />
      {city && !city.cameras.length ? (
        <Empty>
          No node has reported a location yet — field nodes set <code>location</code> in node.yaml; see docs/deploy/provisioning.md
        </Empty>
      ) : null}
      {city && city.cameras.length ? (
        <div className="map-layout">
          <MapDrawing city={city} />
          <MapLegend lowSoc={site.low_battery_soc} />
        </div>
      ) : null}
      {city && city.unplaced.length ? (
        <p className="note" data-testid="map-unplaced">
          Not placed ({city.unplaced.length}, no location reported): {city.unplaced.join(", ")}
        </p>
      ) : null}
    </div>
  );
}
