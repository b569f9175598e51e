"""Reflex configuration. Every value that differs between machines comes from Settings."""

import reflex as rx

from engage_reflex.settings import get_settings

config = rx.Config(
    app_name="engage_reflex",
    db_url=get_settings().effective_database_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="teal", gray_color="slate", radius="medium"),
        ),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
