"""The model editor: one route file per area (see components/editor.py for the menu)."""

from engage_reflex.pages.model import carriers, locations, node, nodes, overview, runs, tech, techs, timeseries  # noqa: F401  (registers pages)
