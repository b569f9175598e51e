"""Findings of the model check, each with a link to the editor page where it is fixed."""

from __future__ import annotations

import reflex as rx

from engage_reflex.components.editor import area_href
from engage_reflex.components.layout import section
from engage_reflex.state.model.check import CheckState, FindingRow

AREA_PAGES = [("techs", "Technologies"), ("nodes", "Nodes & links"), ("locations", "Locations"),
              ("carriers", "Carriers"), ("runs", "Runs")]


def finding_item(finding: FindingRow) -> rx.Component:
    is_warning = finding.severity == "warning"
    page_name = rx.match(finding.area, *AREA_PAGES, "")
    return rx.hstack(
        rx.cond(is_warning, rx.icon("triangle-alert", size=16, color=rx.color("amber", 11), flex_shrink="0"),
                rx.icon("info", size=16, color=rx.color("blue", 11), flex_shrink="0")),
        rx.vstack(
            rx.text(rx.cond(is_warning, "Warning: ", "Note: "), finding.message, size="2", weight="medium"),
            rx.text(finding.hint, size="1", color=rx.color("gray", 11)),
            rx.cond(finding.area != "",
                    rx.link("Fix it on the ", page_name, " page", href=area_href("/") + finding.area, size="1",
                            class_name="finding-fix")),
            spacing="0",
        ),
        align="start", spacing="2", width="100%", class_name="check-finding",
        custom_attrs={"role": "listitem", "data-severity": finding.severity},
    )


def _calliope_verdict() -> rx.Component:
    return rx.match(
        CheckState.calliope_verdict,
        ("waiting", rx.hstack(rx.spinner(size="1"), rx.text("Calliope is reading the model…", size="2"),
                              align="center", spacing="2")),
        ("ok", rx.hstack(rx.icon("circle-check", size=16, color=rx.color("green", 11)),
                         rx.text("Calliope read the model without complaint.", size="2"),
                         align="center", spacing="2")),
        ("refused", rx.callout(CheckState.calliope_problem, icon="circle-x", color_scheme="red", size="1",
                               width="100%")),
        ("unknown", rx.callout(CheckState.calliope_problem, icon="circle-help", color_scheme="gray", size="1",
                               width="100%")),
        rx.fragment(),
    )


def check_model_section() -> rx.Component:
    """The Overview's "Check model": Engage's checks of the base scenario, then Calliope's own read."""
    return section(
        "Check model",
        rx.text("Looks for what would make a run fail or its results meaningless, and asks Calliope to read "
                "the model (nothing is solved).", size="2", color=rx.color("gray", 11)),
        rx.button(rx.icon("stethoscope", size=16), "Check model", on_click=CheckState.check_now,
                  loading=CheckState.check_running, size="2", variant="soft", width="fit-content",
                  id="check-model"),
        rx.box(
            rx.cond(CheckState.check_problem != "",
                    rx.callout(CheckState.check_problem, icon="triangle-alert", color_scheme="red", size="1")),
            rx.cond(
                CheckState.calliope_verdict != "",
                rx.vstack(
                    rx.text("Scenario “", CheckState.check_scenario, "”: ",
                            rx.cond(CheckState.check_findings.length() > 0,
                                    CheckState.check_findings.length().to_string() + " findings",
                                    "Engage's checks found nothing to fix."),
                            size="2", weight="medium"),
                    rx.vstack(rx.foreach(CheckState.check_findings, finding_item), spacing="2", width="100%",
                              custom_attrs={"role": "list"}),
                    _calliope_verdict(),
                    spacing="3", width="100%",
                ),
            ),
            id="check-model-result", width="100%",
            custom_attrs={"role": "status", "aria-live": "polite"},
        ),
        icon="stethoscope",
    )
