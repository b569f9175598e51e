"""The model editor: one route file per area (see components/editor.py for the menu)."""

from engage_reflex.pages.model import (  # noqa: F401  (registers pages)
    carriers,
    locations,
    node,
    nodes,
    overview,
    runs,
    scenarios,
    tech,
    techs,
    timeseries,
)
