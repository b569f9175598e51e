// A Leaflet map for Engage (wrapped in Python by engage_reflex/components/map.py).
//
// Nothing model-specific: it draws `markers` ({id, name, lat, lon}) and `lines`
// ({id, name, from: [lat, lon], to: [lat, lon]}) over OpenStreetMap tiles, and reports
// a click on the map (onMapClick(lat, lon)) and a marker dropped after a drag
// (onMarkerMove(id, lat, lon)) when `editable`. Markers are SVG in a divIcon, so they
// show without any image file and without tiles (machines with no internet).
// A marker or line may carry its own `color` (and a line `dashed: true`); with
// onMarkerClick(id) a click on a marker is reported (e.g. to switch a location off).
import { useEffect, useMemo, useRef, useState } from "react";
import L from "leaflet";
import {
  MapContainer,
  Marker,
  Polyline,
  TileLayer,
  Tooltip,
  useMap,
  useMapEvents,
} from "react-leaflet";
import "leaflet/dist/leaflet.css";

const TILE_URL = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png";
const TILE_ATTRIBUTION =
  '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';

function pinIcon(color, draggable) {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="26" height="36" viewBox="0 0 26 36" aria-hidden="true" focusable="false">` +
    `<path d="M13 1C6.4 1 1 6.3 1 12.9 1 22 13 35 13 35s12-13 12-22.1C25 6.3 19.6 1 13 1z" ` +
    `fill="${color}" stroke="#ffffff" stroke-width="2"/>` +
    `<circle cx="13" cy="13" r="4.5" fill="#ffffff"/></svg>`;
  return L.divIcon({
    html: svg,
    className: draggable ? "engage-map-pin engage-map-pin-draggable" : "engage-map-pin",
    iconSize: [26, 36],
    iconAnchor: [13, 35],
    tooltipAnchor: [0, -30],
  });
}

function finite(value) {
  return typeof value === "number" && Number.isFinite(value);
}

// Map clicks (only while editable); the longitude is wrapped into -180..180. Once its handler
// is attached the map says so (data-ready on the wrapper), so tests know a click will count.
function ClickReporter({ editable, onMapClick, onReady }) {
  useEffect(() => onReady(), [onReady]);
  useMapEvents({
    click(event) {
      if (!editable || !onMapClick) return;
      const at = event.latlng.wrap();
      onMapClick(at.lat, at.lng);
    },
  });
  return null;
}

// Fit the view to the markers the first time there are some, and whenever fitKey changes.
// Without animation: Leaflet drops clicks made while it animates a zoom, and a planner who
// clicks again right after adding a location would lose that click.
function FitBounds({ points, fitKey }) {
  const map = useMap();
  const fitted = useRef(null);
  useEffect(() => {
    if (points.length === 0) return;
    const key = String(fitKey ?? "");
    if (fitted.current === key) return;
    fitted.current = key;
    if (points.length === 1) {
      map.setView(points[0], 7, { animate: false });
    } else {
      map.fitBounds(L.latLngBounds(points), { paddingTopLeft: [40, 60], paddingBottomRight: [40, 30], maxZoom: 9, animate: false });
    }
  }, [map, points, fitKey]);
  return null;
}

// Leaflet measures its container once; tell it when the container changes size.
function SizeWatcher() {
  const map = useMap();
  useEffect(() => {
    const container = map.getContainer();
    if (typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver(() => map.invalidateSize());
    observer.observe(container);
    return () => observer.disconnect();
  }, [map]);
  return null;
}

export function LeafletMap({
  id,
  markers,
  lines,
  editable = false,
  fitKey = "",
  mapHeight = "420px",
  ariaLabel = "Map",
  labelLimit = 40,
  markerColor = "#0d9488",
  lineColor = "#475569",
  onMapClick,
  onMarkerMove,
  onMarkerClick,
}) {
  const shown = useMemo(
    () => (markers || []).filter((m) => finite(m.lat) && finite(m.lon)),
    [markers],
  );
  const points = useMemo(() => shown.map((m) => [m.lat, m.lon]), [shown]);
  const drawn = useMemo(
    () =>
      (lines || []).filter(
        (l) => l.from && l.to && finite(l.from[0]) && finite(l.from[1]) && finite(l.to[0]) && finite(l.to[1]),
      ),
    [lines],
  );
  // One icon per colour in use (markers may carry their own colour).
  const icons = useMemo(() => {
    const byColor = {};
    for (const m of shown) {
      const color = m.color || markerColor;
      if (!byColor[color]) byColor[color] = pinIcon(color, editable);
    }
    return byColor;
  }, [shown, markerColor, editable]);
  const permanentLabels = shown.length <= labelLimit;
  const [ready, setReady] = useState(false);
  const markReady = useMemo(() => () => setReady(true), []);

  return (
    <div
      id={id}
      role="region"
      aria-label={ariaLabel}
      className="engage-map"
      data-editable={editable ? "true" : "false"}
      data-ready={ready ? "true" : "false"}
      style={{ height: mapHeight, width: "100%", position: "relative" }}
    >
      <MapContainer
        center={[20, 0]}
        zoom={2}
        minZoom={1}
        worldCopyJump={true}
        style={{ height: "100%", width: "100%", background: "#e8eef3", borderRadius: "8px" }}
      >
        <TileLayer url={TILE_URL} attribution={TILE_ATTRIBUTION} />
        {drawn.map((line) => (
          <Polyline
            key={`line-${line.id}`}
            positions={[line.from, line.to]}
            pathOptions={{ color: line.color || lineColor, weight: 3, opacity: 0.85,
                           dashArray: line.dashed ? "6 6" : null }}
            className="engage-map-line"
          >
            {line.name ? <Tooltip sticky>{line.name}</Tooltip> : null}
          </Polyline>
        ))}
        {shown.map((m) => (
          <Marker
            key={`marker-${m.id}-${m.name}`}  // Leaflet sets a title once: a new name, a new marker
            position={[m.lat, m.lon]}
            icon={icons[m.color || markerColor]}
            title={m.name}
            alt={m.name}
            draggable={editable}
            autoPan={true}
            eventHandlers={{
              click() {
                if (onMarkerClick) onMarkerClick(m.id);
              },
              dragend(event) {
                if (!onMarkerMove) return;
                const at = event.target.getLatLng().wrap();
                onMarkerMove(m.id, at.lat, at.lng);
              },
            }}
          >
            <Tooltip
              key={permanentLabels ? "label" : "hover"}
              permanent={permanentLabels}
              direction="top"
              className="engage-map-label"
            >
              {m.name}
            </Tooltip>
          </Marker>
        ))}
        <ClickReporter editable={editable} onMapClick={onMapClick} onReady={markReady} />
        <FitBounds points={points} fitKey={fitKey} />
        <SizeWatcher />
      </MapContainer>
    </div>
  );
}

export default LeafletMap;
