"""The "Log" button of a run row and the one dialog it opens (status, message, log text, full log download)."""

from __future__ import annotations

import reflex as rx

from engage_reflex.components.feedback import status_badge
from engage_reflex.state.run_log import RunLogState

EMPTY_LOG = "No log was recorded for this run yet."
EMPTY_LIVE_LOG = "Waiting for the first lines of the log…"


def run_log_button(run_id: rx.Var[int]) -> rx.Component:
    return rx.button(rx.icon("scroll-text", size=14), "Log", size="1", variant="ghost", color_scheme="gray",
                     on_click=RunLogState.show(run_id), class_name="run-log-button")


def _log_text() -> rx.Component:
    return rx.cond(
        RunLogState.text != "",
        rx.el.pre(
            RunLogState.text, id="run-log-text",
            font_family="var(--code-font-family, ui-monospace, monospace)", font_size="12px", line_height="1.5",
            white_space="pre-wrap", word_break="break-word", margin="0", padding="0.75em",
            max_height="55vh", overflow_y="auto", width="100%",
            background_color=rx.color("gray", 2), border=f"1px solid {rx.color('gray', 5)}",
            border_radius="var(--radius-2)",
        ),
        rx.text(rx.cond(RunLogState.live, EMPTY_LIVE_LOG, EMPTY_LOG), id="run-log-empty", size="2",
                color=rx.color("gray", 11)),
    )


def _live_label() -> rx.Component:
    return rx.hstack(
        rx.spinner(size="1"),
        rx.text("Live: updating while the run works", id="run-log-live", size="1", color=rx.color("grass", 11)),
        align="center", spacing="2",
    )


def run_log_dialog() -> rx.Component:
    """Controlled by RunLogState; placed once on the page, outside the runs table."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.vstack(
                rx.hstack(
                    rx.dialog.title("Run #", RunLogState.run_id, " log", margin="0"),
                    rx.cond(RunLogState.status != "", status_badge(RunLogState.status, "run-log-status")),
                    rx.spacer(),
                    rx.dialog.close(rx.icon_button(rx.icon("x", size=16), variant="ghost", color_scheme="gray",
                                                   aria_label="Close", id="run-log-close")),
                    align="center", width="100%", spacing="3",
                ),
                rx.dialog.description(
                    rx.cond(
                        RunLogState.live,
                        "Calliope's information and warnings and the solver's output, as the run works. "
                        "When it ends, this shows what happened first; the full log can then be downloaded.",
                        "What happened first, then Calliope's information and warnings. The full log "
                        "(every detail, the solver's whole output) can be downloaded.",
                    ),
                    size="2", color=rx.color("gray", 11),
                ),
                rx.cond(
                    RunLogState.loading,
                    rx.hstack(rx.spinner(size="2"), rx.text("Reading the log…", size="2"), align="center"),
                    rx.vstack(
                        rx.cond(RunLogState.message != "",
                                rx.text(RunLogState.message, id="run-log-message", size="2", weight="medium")),
                        rx.cond(RunLogState.live, _live_label()),
                        _log_text(),
                        rx.cond(RunLogState.has_raw_log,
                                rx.button(rx.icon("download", size=14), "Download the full log", size="1",
                                          variant="soft", color_scheme="gray", id="run-log-download",
                                          on_click=RunLogState.download_raw_log)),
                        spacing="3", width="100%",
                    ),
                ),
                spacing="3", width="100%",
            ),
            max_width="min(960px, 94vw)", id="run-log-dialog",
        ),
        open=RunLogState.is_open,
        on_open_change=RunLogState.set_is_open,
    )
