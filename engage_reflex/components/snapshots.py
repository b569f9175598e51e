"""The Snapshots section of a model's Overview (state/model/snapshots.py)."""

from __future__ import annotations

import reflex as rx

from engage_reflex.components.layout import section
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.snapshots import SnapshotRow, SnapshotsState

S = SnapshotsState


def snapshot_row(row: SnapshotRow) -> rx.Component:
    return rx.hstack(
        rx.icon("camera", size=15, color=rx.color("gray", 10), flex_shrink="0"),
        rx.link(row.name, href="/models/" + row.id.to_string(), size="2", weight="medium"),
        rx.spacer(),
        rx.text(row.runs, " · ", row.taken, size="1", color=rx.color("gray", 10)),
        align="center", spacing="2", width="100%", class_name="snapshot-row",
    )


def snapshots_section() -> rx.Component:
    """On a model: its snapshots and (for editors) the button that takes one. Not shown on a snapshot."""
    return rx.cond(
        ModelEditorState.is_snapshot,
        rx.fragment(),
        section(
            "Snapshots",
            rx.text("A snapshot keeps the model as it is now, with its runs' results, as a numbered read-only "
                    "copy (for what was presented or sent). Make a copy of one to work from it.", size="1",
                    color=rx.color("gray", 10)),
            rx.cond(S.snapshot_rows.length() > 0,
                    rx.vstack(rx.foreach(S.snapshot_rows, snapshot_row), spacing="2", width="100%",
                              id="snapshot-list"),
                    rx.text("No snapshots yet.", size="2", color=rx.color("gray", 11))),
            rx.cond(ModelEditorState.can_edit,
                    rx.button(rx.icon("camera", size=16), "Take a snapshot", size="2", variant="soft",
                              on_click=S.take_snapshot, loading=S.taking_snapshot, id="take-snapshot")),
            icon="camera",
        ),
    )
