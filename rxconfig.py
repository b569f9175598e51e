"""Reflex configuration. Every value that differs between machines comes from Settings."""

import reflex as rx

from engage_reflex.settings import exit_if_unsafe_secret, get_settings

# Every `reflex` command (and so the web app) stops here with a clear message when the secret
# key is missing or the public development value (see Settings.require_safe_secret).
exit_if_unsafe_secret()

_settings = get_settings()

# The page states live in Redis (the one the RQ queues use) whenever REDIS_URL is set, so several
# app processes behind one address serve the same tab: any of them can handle its next event.
# Without REDIS_URL, Reflex keeps them on disk and one process serves everything. Only the URL is
# handed over here: Reflex opens the connection when the app starts, never at import.
_STATE_MODE = rx.constants.StateManagerMode.REDIS if _settings.redis_url else rx.constants.StateManagerMode.DISK

# An ordinary (not background) event holds its tab's state lock while it awaits rx.run_in_thread.
# The slowest such handlers read and draw a run's results (results page and its filters), compare
# runs, or copy or delete a model: on the browser suite each held the lock 1.3 s at most (results
# figures; bench/results_page.py keeps a full hourly year under 1.5 s). Model imports, exports and
# solves run in RQ jobs, followed by background events that lock only inside `async with self`.
# If the lock ran out mid-event, Reflex would drop the event's changes (LockExpiredError); the cost
# of a long one is how long a tab waits on a lock nobody releases (a crashed app process; see
# engage_reflex/reflex_patches.py). 15 s is ten times the slowest hold seen; a hold
# over 3 s is logged: that handler belongs in a background event.
STATE_LOCK_EXPIRATION_MS = 15_000
STATE_LOCK_WARNING_MS = 3_000
# A tab's state is forgotten after an hour without events, as with the disk manager before.
STATE_EXPIRATION_S = 3600

if _STATE_MODE == rx.constants.StateManagerMode.REDIS:
    # A fix of Reflex's own state locking, kept with its version guard in one module.
    from engage_reflex.reflex_patches import release_lock_taken_by_a_cancelled_event

    release_lock_taken_by_a_cancelled_event()

config = rx.Config(
    app_name="engage_reflex",
    db_url=_settings.effective_database_url,
    redis_url=_settings.redis_url or None,
    state_manager_mode=_STATE_MODE,
    redis_lock_expiration=STATE_LOCK_EXPIRATION_MS,
    redis_lock_warning_threshold=STATE_LOCK_WARNING_MS,
    redis_token_expiration=STATE_EXPIRATION_S,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="teal", gray_color="slate", radius="medium"),
        ),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
