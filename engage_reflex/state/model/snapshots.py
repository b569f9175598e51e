"""The Snapshots section of a model's Overview: its numbered, frozen copies, and taking a new one."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import reflex as rx

from engage_reflex.services import snapshots
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state._time import changed_ago
from engage_reflex.state.model.base import ModelEditorState


@dataclasses.dataclass(frozen=True)
class SnapshotRow:
    id: int
    name: str
    taken: str  # "3 hours ago"
    runs: str  # "2 runs"


def _row(view: snapshots.SnapshotView) -> SnapshotRow:
    return SnapshotRow(id=view.id, name=view.name, taken=changed_ago(view.taken_at, datetime.now(UTC)),
                       runs=f"{view.runs} run{'s' if view.runs != 1 else ''}")


class SnapshotsState(ModelEditorState):
    snapshot_rows: list[SnapshotRow] = []
    taking_snapshot: bool = False

    @rx.event
    async def load_snapshots(self):
        try:
            found = await self._call(snapshots.list_snapshots, model_id=self._current_model_id())
        except (LoginRequired, EngageError):
            self.snapshot_rows = []
            return  # the page says why (its header and overview loads)
        self.snapshot_rows = [_row(v) for v in found]

    @rx.event
    async def take_snapshot(self):
        self.taking_snapshot = True
        yield
        taken, toast = await self._edit(snapshots.create_snapshot, model_id=self.loaded_model_id)
        self.taking_snapshot = False
        if taken is not None:
            found = await self._call(snapshots.list_snapshots, model_id=self.loaded_model_id)
            self.snapshot_rows = [_row(v) for v in found]
            toast = rx.toast.success(f"Took snapshot “{taken.name}”: the model as it is now, with "
                                     f"{taken.runs} run{'s' if taken.runs != 1 else ''}. It stays as it is.")
        yield toast
