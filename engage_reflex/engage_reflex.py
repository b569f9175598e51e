"""The Reflex app: pages and the download route (the theme is in rxconfig.py). Nothing else lives here."""

import reflex as rx

from engage_reflex.api import api
from engage_reflex.pages import account, compare, index, login, model, models, profile, register, results  # noqa: F401,E501  (registers pages)

app = rx.App(
    style={"font_family": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
    api_transformer=api(),
)
