"""The Reflex app: pages and the download route (the theme is in rxconfig.py). Nothing else lives here."""

import reflex as rx

from engage_reflex.api import api
from engage_reflex.pages import (  # noqa: F401  (registers pages)
    account, compare, index, login, model, models, profile, public_models, register, results)

app = rx.App(
    style={"font_family": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
    api_transformer=api(),
)
