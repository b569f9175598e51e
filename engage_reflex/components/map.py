"""An interactive Leaflet map (react-leaflet 5 + leaflet 1.9) as a Reflex component.

Nothing model-specific lives here: the page gives it plain lists and receives plain events.

    leaflet_map(
        markers=[{"id": 1, "name": "Oslo", "lat": 59.9, "lon": 10.7}, ...],
        lines=[{"id": 7, "name": "Oslo to Bergen", "from": [59.9, 10.7], "to": [60.4, 5.3]}],
        editable=True,                         # markers draggable, clicks reported
        on_map_click=State.clicked,            # (lat: float, lon: float)
        on_marker_move=State.moved,            # (id: int, lat: float, lon: float), on drop
    )

How it is wired: the React side is one small local component, assets/leaflet_map.jsx (Reflex
copies assets/ into the frontend's public/ folder, hence the `$/public/...` library path). It
imports react-leaflet, leaflet and leaflet's CSS; Reflex installs the two npm packages named in
`lib_dependencies` (pinned versions, recorded in reflex.lock/). Leaflet touches `window` when
it loads, so the component is a NoSSRComponent: the page is prerendered without it and the
browser loads the map module lazily. Markers are SVG pins in a divIcon, so they need no image
files and show without tiles (machines without internet); OpenStreetMap tiles need no token.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import EventHandler, passthrough_event_spec

LEAFLET = "leaflet@1.9.4"
REACT_LEAFLET = "react-leaflet@5.0.0"


class LeafletMap(rx.NoSSRComponent):
    """The map; see the module docstring. Props become camelCase JS props of LeafletMap in the JSX."""

    library = "$/public/leaflet_map.jsx"
    tag = "LeafletMap"
    lib_dependencies: list[str] = [LEAFLET, REACT_LEAFLET]

    # [{id, name, lat, lon}]; entries without coordinates are skipped.
    markers: rx.Var[list[dict[str, Any]]]
    # [{id, name, from: [lat, lon], to: [lat, lon]}]
    lines: rx.Var[list[dict[str, Any]]]
    # Markers draggable and map clicks reported.
    editable: rx.Var[bool]
    # The view fits the markers the first time there are some, and again when this changes.
    fit_key: rx.Var[str]
    map_height: rx.Var[str]
    # The accessible name of the map region.
    aria_label: rx.Var[str]
    # Up to this many markers their names are shown permanently; beyond it on hover.
    label_limit: rx.Var[int]
    marker_color: rx.Var[str]
    line_color: rx.Var[str]

    on_map_click: EventHandler[passthrough_event_spec(float, float)]
    on_marker_move: EventHandler[passthrough_event_spec(int, float, float)]
    # (id: int); markers and lines may carry their own "color" (lines also "dashed": true).
    on_marker_click: EventHandler[passthrough_event_spec(int)]


def leaflet_map(**props) -> rx.Component:
    """The map inside a box of the same height, so the page does not jump while Leaflet loads."""
    height = props.setdefault("map_height", "420px")
    return rx.box(LeafletMap.create(**props), height=height, width="100%",
                  background_color="#e8eef3", border_radius="8px")
