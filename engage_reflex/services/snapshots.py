"""Snapshots: numbered, frozen copies of a model ("Grid 2040 [v1]", "[v2]"…) with its runs' results.

A snapshot is a model row with `snapshot_of_id` set, made with the same copy plan as "Make a copy",
plus the model's succeeded runs (their rows; the result files are shared, never copied, and stay
until the last run that names them is deleted). Nobody changes a snapshot or runs it
(access.require_edit refuses, start_run refuses); it is read by whoever may read its model, and goes
with its model when that model is deleted or handed over. A new model copied from a snapshot
(models.copy_model) is an ordinary, editable model.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from sqlalchemy import func, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from engage_reflex.models import ActivityLog, EnergyModel, Run, RunStatus
from engage_reflex.models._common import iso_utc, utcnow
from engage_reflex.services import models
from engage_reflex.services.access import open_to_visitors, require_edit, require_view
from engage_reflex.services.errors import EngageError

_VERSION = re.compile(r" \[v(\d+)\]$")


@dataclass(frozen=True)
class SnapshotView:
    id: int
    name: str
    version: int
    taken_at: str  # ISO, UTC
    runs: int  # the succeeded runs kept with it


def _version(name: str) -> int:
    found = _VERSION.search(name)
    return int(found.group(1)) if found else 0


def _snapshots(session: Session, model_id: int) -> list[EnergyModel]:
    return list(session.exec(select(EnergyModel).where(EnergyModel.snapshot_of_id == model_id)
                             .order_by(EnergyModel.id)).all())


def _copy_runs(session: Session, source_id: int, snapshot_id: int, scenarios: dict[int, int]) -> int:
    """The source's succeeded runs, as rows of the snapshot naming the same result files."""
    table = Run.__table__
    rows = session.execute(sa_select(table).where(table.c.model_id == source_id,
                                                  table.c.status == RunStatus.succeeded.value)
                           .order_by(table.c.id)).mappings().all()
    params = []
    for row in rows:
        values = {key: value for key, value in row.items() if key != "id"}
        values.update(model_id=snapshot_id, scenario_id=scenarios[row["scenario_id"]], rq_job_id=None,
                      reused_from_id=None, worker_name=None, heartbeat_at=None)
        params.append({key: value for key, value in values.items() if key in table.c})
    if params:
        session.execute(insert(table), params)
    return len(params)


def create_snapshot(*, session: Session, user_id: int, model_id: int) -> SnapshotView:
    """Freeze the model as it is now, with its succeeded runs, as its next numbered snapshot (for
    whoever may edit it). The snapshot belongs to the model's owner."""
    source = require_edit(session=session, user_id=user_id, model_id=model_id)
    version = 1 + max((_version(s.name) for s in _snapshots(session, source.id)), default=0)
    suffix = f" [v{version}]"
    name = source.name[:models.MAX_NAME_LENGTH - len(suffix)] + suffix
    if session.exec(select(EnergyModel.id).where(EnergyModel.owner_id == source.owner_id,
                                                 EnergyModel.name == name)).first() is not None:
        raise EngageError(f"The owner already has a model called “{name}”. Rename it, then take the snapshot.")
    snapshot = EnergyModel(name=name, description=source.description, owner_id=source.owner_id,
                           is_public=False, snapshot_of_id=source.id, time_zone=source.time_zone or "UTC",
                           calliope_config=copy.deepcopy(source.calliope_config or {}))
    session.add(snapshot)
    session.flush()
    id_maps = models.copy_contents(session, source_id=source.id, copy_id=snapshot.id)
    runs = _copy_runs(session, source.id, snapshot.id, id_maps["scenarios"])
    who = models.actor_name(session, user_id)
    detail = f"{who} took snapshot v{version} (“{name}”) with {runs} run{'s' if runs != 1 else ''}"
    # Logged on the model, not counted as an edit of it: its runs stay up to date.
    session.add(ActivityLog(model_id=source.id, user_id=user_id, action="Snapshot", detail=detail,
                            created_at=utcnow()))
    session.flush()
    return SnapshotView(id=snapshot.id, name=name, version=version, taken_at=iso_utc(snapshot.created_at),
                        runs=runs)


@open_to_visitors
def list_snapshots(*, session: Session, user_id: int | None, model_id: int) -> list[SnapshotView]:
    """The model's snapshots, newest first, for whoever may read the model."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    found = _snapshots(session, model.id)
    counts = dict(session.exec(select(Run.model_id, func.count(Run.id))
                               .where(Run.model_id.in_([s.id for s in found])).group_by(Run.model_id)).all())
    return [SnapshotView(id=s.id, name=s.name, version=_version(s.name), taken_at=iso_utc(s.created_at),
                         runs=counts.get(s.id, 0)) for s in sorted(found, key=lambda s: -_version(s.name))]


def snapshots_of(session: Session, model_id: int) -> list[EnergyModel]:
    """The snapshot rows of a model (for deleting or handing over the model with them)."""
    return _snapshots(session, model_id)

