"""The model editor: one route file per area (see components/editor.py for the menu)."""

from engage_reflex.pages.model import overview, runs  # noqa: F401  (registers pages)
