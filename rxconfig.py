"""Reflex configuration. Every value that differs between machines comes from Settings."""

import reflex as rx

from engage_reflex.settings import exit_if_unsafe_secret, get_settings

# Every `reflex` command (and so the web app) stops here with a clear message when the secret
# key is missing or the public development value (see Settings.require_safe_secret).
exit_if_unsafe_secret()

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
