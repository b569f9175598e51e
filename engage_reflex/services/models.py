"""Models: the list a user may open, one model's detail, and the lifecycle (create, copy, rename,
change details, delete)."""

from __future__ import annotations

import calendar
import copy
import importlib.metadata
import logging
import re
import shutil
from datetime import UTC, datetime, timedelta
from zoneinfo import available_timezones

from sqlalchemy import delete, func, insert, or_
from sqlmodel import Session, select

from engage_reflex.models import (
    Carrier,
    Collaborator,
    EnergyModel,
    Link,
    LinkParameter,
    Location,
    ModelFile,
    ModelParameter,
    Node,
    NodeParameter,
    Run,
    Scenario,
    ScenarioConstraint,
    ScenarioLink,
    ScenarioNode,
    TechParameter,
    Technology,
    TechnologyCarrier,
    Timeseries,
    Upload,
    User,
)
from engage_reflex.models._common import iso_utc
from engage_reflex.models.series_blob import series_from_lists
from engage_reflex.schemas import LocationView, ModelDetail, ModelSummary, ScenarioView, TechView
from engage_reflex.schemas.editor import ModelHeader
from engage_reflex.schemas.models import DeletedModel, ModelCounts, ModelInfo
from engage_reflex.services.access import (
    can_edit,
    is_member,
    open_to_visitors,
    require_edit,
    require_view,
    role_of,
)
from engage_reflex.services.users import shown_name
from engage_reflex.services import feed
from engage_reflex.services.activity import record_change
from engage_reflex.services.calliope_io.values import BASE_SCENARIO
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied

LOGGER = logging.getLogger(__name__)
_BASE_TECH_ORDER = {"supply": 0, "conversion": 1, "storage": 2, "transmission": 3, "demand": 4}


def _counts(session: Session, table, model_ids: list[int]) -> dict[int, int]:
    if not model_ids:
        return {}
    rows = session.exec(
        select(table.model_id, func.count(table.id)).where(table.model_id.in_(model_ids)).group_by(table.model_id)
    ).all()
    return {model_id: count for model_id, count in rows}


@open_to_visitors
def list_models(*, session: Session, user_id: int | None) -> list[ModelSummary]:
    """The user's own models, models shared with them, then the public samples (by name); a visitor
    without a login (user_id None) gets the public models."""
    shared = select(Collaborator.model_id).where(Collaborator.user_id == user_id)
    collab_edit = dict(
        session.exec(select(Collaborator.model_id, Collaborator.can_edit).where(Collaborator.user_id == user_id)).all()
    )
    rows = session.exec(
        select(EnergyModel, User)
        .join(User, User.id == EnergyModel.owner_id)
        .where(or_(EnergyModel.owner_id == user_id, EnergyModel.is_public, EnergyModel.id.in_(shared)),
               EnergyModel.snapshot_of_id.is_(None))  # snapshots are listed on their model's page
    ).all()
    ids = [model.id for model, _ in rows]
    locations = _counts(session, Location, ids)
    techs = _counts(session, Technology, ids)
    scenarios = _counts(session, Scenario, ids)
    # What is new to them, on the models they are a member of (not the public ones of others).
    member_of = [m.id for m, _ in rows if user_id is not None and (m.owner_id == user_id or m.id in collab_edit)]
    members = set(member_of)
    unread = feed.unread_counts(session, user_id, member_of) if member_of else {}
    summaries = []
    for model, owner in rows:
        is_own = model.owner_id == user_id
        # The same answer as access.role_of, without one query per model.
        role = "owner" if is_own else "editor" if collab_edit.get(model.id) else "viewer"
        summaries.append(
            ModelSummary(
                id=model.id,
                name=model.name,
                description=model.description,
                owner_email=owner.email if model.id in members else shown_name(owner, reader_id=None),
                is_public=model.is_public,
                is_own=is_own,
                can_edit=is_own or collab_edit.get(model.id, False),
                locations=locations.get(model.id, 0),
                technologies=techs.get(model.id, 0),
                updated_at=iso_utc(model.updated_at),
                scenarios=scenarios.get(model.id, 0),
                is_shared=not is_own and model.id in collab_edit,
                role=role, unread=unread.get(model.id, 0),
            )
        )
    # Own first, then shared, then public; by name within each group.
    summaries.sort(key=lambda m: (0 if m.is_own else 1 if m.is_shared else 2, m.name.lower(), m.id))
    return summaries


@open_to_visitors
def get_model_detail(*, session: Session, user_id: int | None, model_id: int) -> ModelDetail:
    """Everything the model page shows; NotFound for a model the user may not see."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    owner = session.get(User, model.owner_id)
    scenarios = session.exec(select(Scenario).where(Scenario.model_id == model_id).order_by(Scenario.id)).all()
    techs = session.exec(select(Technology).where(Technology.model_id == model_id)).all()
    locations = session.exec(select(Location).where(Location.model_id == model_id).order_by(Location.name)).all()
    span_start, span_end = session.exec(
        select(func.min(Timeseries.start), func.max(Timeseries.end)).where(Timeseries.model_id == model_id)
    ).one()
    subset_start, subset_end = _config_subset(model.calliope_config or {})
    time_start = _iso_date(span_start) or subset_start
    time_end = _iso_date(span_end) or subset_end
    # The default run: the model's own subset, else its first day; always inside the span.
    default_start = _clamp(subset_start or time_start, time_start, time_end)
    default_end = _clamp(subset_end or time_start, time_start, time_end)
    if default_start and default_end and default_end < default_start:
        default_end = default_start
    return ModelDetail(
        id=model.id,
        name=model.name,
        description=model.description,
        is_public=model.is_public,
        can_edit=can_edit(session=session, user_id=user_id, model=model),
        owner_email=_owner_shown(session, user_id, model, owner),
        time_start=time_start,
        time_end=time_end,
        default_subset_start=default_start,
        default_subset_end=default_end,
        scenarios=[_scenario_view(s) for s in scenarios],
        technologies=[
            TechView(id=t.id, name=t.name, display_name=t.display_name or t.name, base_tech=_base(t),
                     color=t.color or "#999999")
            for t in sorted(techs, key=lambda t: (_BASE_TECH_ORDER.get(_base(t), 9), (t.display_name or t.name).lower()))
        ],
        locations=[LocationView(id=loc.id, name=loc.name, latitude=loc.latitude, longitude=loc.longitude)
                   for loc in locations],
    )


def _owner_shown(session: Session, user_id: int | None, model: EnergyModel, owner: User | None) -> str:
    """The owner's address for the model's members; for its other readers (a public model), a name."""
    if owner is not None and is_member(session=session, user_id=user_id, model=model):
        return owner.email
    return shown_name(owner, reader_id=None)


@open_to_visitors
def get_model_header(*, session: Session, user_id: int | None, model_id: int) -> ModelHeader:
    """The model and the user's role in it, for the top of every editor page."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    owner = session.get(User, model.owner_id)
    return ModelHeader(
        id=model.id, name=model.name, description=model.description, time_zone=model.time_zone or "UTC",
        is_public=model.is_public,
        owner_email=_owner_shown(session, user_id, model, owner),
        role=role_of(session=session, user_id=user_id, model=model) or "viewer", updated_at=iso_utc(model.updated_at),
        is_snapshot=model.snapshot_of_id is not None, snapshot_of_id=model.snapshot_of_id or 0,
        snapshot_of_name=source.name if (source := session.get(EnergyModel, model.snapshot_of_id or 0)) else "",
    )


def _base(tech: Technology) -> str:
    return str(getattr(tech.base_tech, "value", tech.base_tech))


def _iso_date(value: datetime | None) -> str:
    if value is None:
        return ""
    # Timestamps are stored in UTC; PostgreSQL may hand them back in its own zone.
    return (value.astimezone(UTC) if value.tzinfo else value).date().isoformat()


def _clamp(day: str, low: str, high: str) -> str:
    if not day:
        return day
    if low and day < low:
        return low
    if high and day > high:
        return high
    return day


def _config_subset(config: dict) -> tuple[str, str]:
    """config.init.subset.timesteps as two ISO dates ("2005-01" ends on the month's last day)."""
    init = config.get("init") or {}
    subset = (init.get("subset") or {}).get("timesteps") if isinstance(init.get("subset"), dict) else None
    if not isinstance(subset, (list, tuple)) or len(subset) != 2:
        return "", ""
    return _as_date(str(subset[0]), end=False), _as_date(str(subset[1]), end=True)


def _as_date(text: str, *, end: bool) -> str:
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2}).*", text):
        return f"{m[1]}-{m[2]}-{m[3]}"
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        day = calendar.monthrange(year, month)[1] if end else 1
        return f"{year:04d}-{month:02d}-{day:02d}"
    if m := re.fullmatch(r"(\d{4})", text):
        return f"{m[1]}-12-31" if end else f"{m[1]}-01-01"
    return ""


# --------------------------------------------------------------------------- lifecycle
#
# Create, copy, rename, change details and delete. Each is one transaction of the caller's
# (nothing is committed here); every change ends with activity.record_change.

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5000
# A new model's time steps: Calliope needs at least one timeseries to know its time axis,
# and a model built in the browser starts with constant values. So it gets one model-level
# series, hourly for a week, of `timestep_weights` (Calliope recomputes that parameter as
# all ones whatever it is given, so the series sets the time steps and nothing else).
TIME_STEPS_PARAMETER = "timestep_weights"
TIME_STEPS_NAME = "Time steps"
TIME_STEPS_START = datetime(2025, 1, 1, tzinfo=UTC)
TIME_STEPS_HOURS = 7 * 24


def actor_name(session: Session, user_id: int) -> str:
    """How an activity entry names the person who did it (visitors see addresses hidden)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no user with id {user_id}.")
    return user.display_name or user.email


def _clean_name(name: str | None) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise EngageError("Give the model a name.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise EngageError(
            f"A model name can have at most {MAX_NAME_LENGTH} characters; this one has {len(cleaned)}.")
    return cleaned


def _clean_description(description: str | None) -> str:
    text = str(description or "").strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise EngageError(f"A description can have at most {MAX_DESCRIPTION_LENGTH} characters; "
                          f"this one has {len(text)}.")
    return text


def _clean_time_zone(time_zone: str | None) -> str:
    zone = str(time_zone or "").strip() or "UTC"
    if zone not in available_timezones():
        raise EngageError(f"“{zone}” is not a time zone we know. Use a name like Europe/Oslo, "
                          "America/New_York or UTC.")
    return zone


def _name_taken(session: Session, owner_id: int, name: str, *, except_id: int | None = None) -> bool:
    query = select(EnergyModel.id).where(EnergyModel.owner_id == owner_id, EnergyModel.name == name)
    if except_id is not None:
        query = query.where(EnergyModel.id != except_id)
    return session.exec(query).first() is not None


def _refuse_taken_name(session: Session, *, owner_id: int, user_id: int, name: str,
                       except_id: int | None = None) -> None:
    if _name_taken(session, owner_id, name, except_id=except_id):
        whose = "You already have" if owner_id == user_id else "Its owner already has"
        raise EngageError(f"{whose} a model called “{name}”. Choose another name.")


def _info(session: Session, user_id: int, model: EnergyModel) -> ModelInfo:
    return ModelInfo(id=model.id, name=model.name, description=model.description,
                     time_zone=model.time_zone or "UTC",
                     role=role_of(session=session, user_id=user_id, model=model) or "viewer",
                     copied_from_id=model.copied_from_id)


def default_calliope_config(name: str) -> dict:
    """Calliope's `config` for a new model (the run form adds backend, solver and period)."""
    try:
        version = importlib.metadata.version("calliope")
    except importlib.metadata.PackageNotFoundError:
        version = "0.7.0"
    return {
        "init": {"name": name, "calliope_version": version, "broadcast_input_data": True, "mode": "base"},
        # Unmet demand is allowed at a high cost: a model short of supply still solves and
        # shows where demand is not met, instead of failing as "infeasible".
        "build": {"ensure_feasibility": True},
        "solve": {"zero_threshold": 1e-10},
    }


def create_model(*, session: Session, user_id: int, name: str, description: str = "",
                 time_zone: str = "UTC") -> ModelInfo:
    """A new, empty model of `user_id` with a "base" scenario and a week of hourly time steps."""
    who = actor_name(session, user_id)
    name = _clean_name(name)
    description = _clean_description(description)
    time_zone = _clean_time_zone(time_zone)
    _refuse_taken_name(session, owner_id=user_id, user_id=user_id, name=name)
    model = EnergyModel(name=name, description=description, owner_id=user_id, is_public=False,
                        calliope_config=default_calliope_config(name), time_zone=time_zone)
    session.add(model)
    session.flush()
    stamps = [TIME_STEPS_START + timedelta(hours=h) for h in range(TIME_STEPS_HOURS)]
    series = Timeseries(
        model_id=model.id, name=TIME_STEPS_NAME, unit="",
        description="The model's hourly time steps (one week). Calliope needs them to know its time axis.",
        start=stamps[0], end=stamps[-1], length=len(stamps),
        data=series_from_lists([s.strftime("%Y-%m-%dT%H:%M:%S") for s in stamps], [1.0] * len(stamps)))
    session.add(series)
    session.add(Scenario(model_id=model.id, name=BASE_SCENARIO,
                         description="The model as it is, with no overrides."))
    session.flush()
    session.add(ModelParameter(model_id=model.id, name=TIME_STEPS_PARAMETER, value=None, dims=[], index=[],
                               index_key="", timeseries_id=series.id))
    record_change(session=session, model=model, user_id=user_id, action="created",
                  detail=f"{who} created this model")
    return _info(session, user_id, model)


# -- copy ---------------------------------------------------------------------------
#
# Every table that hangs off a model, parents before children: (table, how its rows are
# found from the source model id, {foreign key column: the table whose id map remaps it}).
# Rows are read and written with Core statements in bulk (one SELECT and one multi-row
# INSERT ... RETURNING per table), in id order, so the copy's rows keep the source's order.
# Tables deliberately NOT copied are listed in NOT_COPIED; tests check that the two lists
# cover every table that refers to a model, and every foreign key of the copied tables.

def _by_model(table):
    return lambda src: table.c.model_id == src


def _by_parent(table, column: str, parent):
    return lambda src: table.c[column].in_(select(parent.c.id).where(parent.c.model_id == src))


_T = {cls.__tablename__: cls.__table__ for cls in (
    Timeseries, ModelFile, ModelParameter, Carrier, Technology, TechnologyCarrier, TechParameter,
    Location, Node, NodeParameter, Link, LinkParameter, Scenario, ScenarioNode, ScenarioLink,
    ScenarioConstraint)}

COPY_PLAN: list[tuple[str, object, dict[str, str]]] = [
    ("timeseries", _by_model(_T["timeseries"]), {}),
    ("model_files", _by_model(_T["model_files"]), {}),
    ("model_parameters", _by_model(_T["model_parameters"]), {"timeseries_id": "timeseries"}),
    ("carriers", _by_model(_T["carriers"]), {}),
    ("technologies", _by_model(_T["technologies"]), {}),
    ("technology_carriers", _by_parent(_T["technology_carriers"], "technology_id", _T["technologies"]),
     {"technology_id": "technologies", "carrier_id": "carriers"}),
    ("tech_parameters", _by_parent(_T["tech_parameters"], "technology_id", _T["technologies"]),
     {"technology_id": "technologies", "timeseries_id": "timeseries"}),
    ("locations", _by_model(_T["locations"]), {}),
    ("nodes", _by_model(_T["nodes"]), {"location_id": "locations", "technology_id": "technologies"}),
    ("node_parameters", _by_parent(_T["node_parameters"], "node_id", _T["nodes"]),
     {"node_id": "nodes", "timeseries_id": "timeseries"}),
    ("links", _by_model(_T["links"]),
     {"technology_id": "technologies", "from_location_id": "locations", "to_location_id": "locations"}),
    ("link_parameters", _by_parent(_T["link_parameters"], "link_id", _T["links"]),
     {"link_id": "links", "timeseries_id": "timeseries"}),
    ("scenarios", _by_model(_T["scenarios"]), {}),
    ("scenario_nodes", _by_parent(_T["scenario_nodes"], "scenario_id", _T["scenarios"]),
     {"scenario_id": "scenarios", "node_id": "nodes"}),
    ("scenario_links", _by_parent(_T["scenario_links"], "scenario_id", _T["scenarios"]),
     {"scenario_id": "scenarios", "link_id": "links"}),
    # Constraints name techs and locations (not ids), as Calliope does: nothing else to remap.
    ("scenario_constraints", _by_parent(_T["scenario_constraints"], "scenario_id", _T["scenarios"]),
     {"scenario_id": "scenarios"}),
]
# Who may see or what happened to the source is not part of the model: a copy starts with
# no collaborators, runs, activity, comments or uploads of its own.
NOT_COPIED = {"collaborators", "invitations", "runs", "activity_log", "comments", "uploads", "model_reads"}


def copy_contents(session: Session, *, source_id: int, copy_id: int) -> dict[str, dict[int, int]]:
    """Copy every part of model `source_id` (COPY_PLAN) into the empty model `copy_id`; returns, per
    table, each source row id's copy id."""
    id_maps: dict[str, dict[int, int]] = {}
    for table_name, where, remap in COPY_PLAN:
        _copy_table(session, table_name, where, remap, source_id, copy_id, id_maps)
    return id_maps


def _copy_table(session: Session, table_name: str, where, remap: dict[str, str], source_id: int,
                copy_id: int, id_maps: dict[str, dict[int, int]]) -> None:
    table = _T[table_name]
    rows = session.execute(select(table).where(where(source_id)).order_by(table.c.id)).mappings().all()
    id_maps[table_name] = {}
    if not rows:
        return
    params = []
    for row in rows:
        values = {key: value for key, value in row.items() if key != "id"}
        if "model_id" in values:
            values["model_id"] = copy_id
        for column, parent in remap.items():
            if values[column] is not None:
                values[column] = id_maps[parent][values[column]]
        params.append(values)
    new_ids = session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), params).scalars().all()
    id_maps[table_name] = {row["id"]: new_id for row, new_id in zip(rows, new_ids, strict=True)}


def _copy_name(session: Session, user_id: int, source_name: str) -> str:
    base = f"Copy of {source_name}"
    for number in range(1, 10_000):
        suffix = "" if number == 1 else f" ({number})"
        candidate = base[:MAX_NAME_LENGTH - len(suffix)] + suffix
        if not _name_taken(session, user_id, candidate):
            return candidate
    raise EngageError("You have too many copies of this model; rename or delete a few first.")


def copy_model(*, session: Session, user_id: int, source_model_id: int, name: str | None = None) -> ModelInfo:
    """A private, editable copy of a model the user may view: every part of the model, no runs."""
    who = actor_name(session, user_id)
    source = require_view(session=session, user_id=user_id, model_id=source_model_id)
    if name is not None and name.strip():
        name = _clean_name(name)
        _refuse_taken_name(session, owner_id=user_id, user_id=user_id, name=name)
    else:
        name = _copy_name(session, user_id, source.name)
    model = EnergyModel(
        name=name, description=source.description, owner_id=user_id, is_public=False,
        copied_from_id=source.id, calliope_config=copy.deepcopy(source.calliope_config or {}),
        time_zone=source.time_zone or "UTC")
    session.add(model)
    session.flush()
    copy_contents(session, source_id=source.id, copy_id=model.id)
    record_change(session=session, model=model, user_id=user_id, action="copied",
                  detail=f"{who} created this model from {source.name}")
    return _info(session, user_id, model)


# -- rename, details, delete --------------------------------------------------------


def rename_model(*, session: Session, user_id: int, model_id: int, name: str) -> ModelInfo:
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    name = _clean_name(name)
    if name == model.name:
        return _info(session, user_id, model)
    _refuse_taken_name(session, owner_id=model.owner_id, user_id=user_id, name=name, except_id=model.id)
    old = model.name
    model.name = name
    session.add(model)
    record_change(session=session, model=model, user_id=user_id, action="renamed",
                  detail=f"Renamed the model from “{old}” to “{name}”")
    return _info(session, user_id, model)


def update_model_details(*, session: Session, user_id: int, model_id: int, description: str | None = None,
                         time_zone: str | None = None) -> ModelInfo:
    """Change the description and/or the time zone (None leaves a field as it is)."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    changes = []
    if description is not None:
        description = _clean_description(description)
        if description != model.description:
            model.description = description
            changes.append("the description")
    if time_zone is not None:
        time_zone = _clean_time_zone(time_zone)
        if time_zone != (model.time_zone or "UTC"):
            model.time_zone = time_zone
            changes.append(f"the time zone to {time_zone}")
    if changes:
        session.add(model)
        record_change(session=session, model=model, user_id=user_id, action="details",
                      detail="Changed " + " and ".join(changes))
    return _info(session, user_id, model)


# Children before parents: parameter rows point at timeseries with ON DELETE RESTRICT, so
# deleting the model and trusting the cascade could hit that restriction before the
# parameter rows are gone (the order of cascades is not defined).
_DELETE_ORDER = ["scenario_constraints", "scenario_links", "scenario_nodes", "link_parameters", "node_parameters",
                 "tech_parameters",
                 "model_parameters", "technology_carriers"]


def delete_model(*, session: Session, user_id: int, model_id: int) -> DeletedModel:
    """Delete a model and everything in it (owner only). Returns its run folders to remove after commit.

    The folders are not removed here: the caller's transaction may still roll back, and a
    delete that did not happen must not lose results. Removing them after the commit can at
    worst leave a folder behind (if the process dies in between), never lose one that counts.
    """
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    if model.owner_id != user_id:
        raise PermissionDenied(f"Only the owner can delete “{model.name}”. "
                               "You can make your own copy and delete that instead.")
    # Its snapshots go with it (they are frozen views of it, not models of their own).
    snapshots = session.exec(select(EnergyModel.id).where(EnergyModel.snapshot_of_id == model.id)).all()
    doomed = [*snapshots, model.id]
    folders = run_folders(session, doomed) + [f for m in doomed for f in _upload_folders(session, m)]
    plan = dict((name, where) for name, where, _ in COPY_PLAN)
    for doomed_id in doomed:
        for table_name in _DELETE_ORDER:
            table = _T[table_name]
            session.execute(delete(table).where(plan[table_name](doomed_id)))
        # The rest goes with the model row (ON DELETE CASCADE on every table that refers to it).
        session.execute(delete(EnergyModel.__table__).where(EnergyModel.__table__.c.id == doomed_id))
    session.flush()
    session.expunge(model)
    return DeletedModel(id=model_id, name=model.name, run_folders=tuple(folders))


def _scenario_view(scenario: Scenario) -> ScenarioView:
    from engage_reflex.services.scenarios import RESAMPLE, SUBSET

    settings = scenario.settings or {}
    subset = settings.get(SUBSET) if isinstance(settings.get(SUBSET), list) else ["", ""]
    return ScenarioView(id=scenario.id, name=scenario.name, description=scenario.description,
                        subset_start=str(subset[0] or "")[:10], subset_end=str(subset[-1] or "")[:10],
                        resample=str(settings.get(RESAMPLE) or ""))


def run_folders(session: Session, model_id: int | list[int], scenario_id: int | None = None,
                run_id: int | None = None) -> list[str]:
    """The run files store's key prefixes ("runs/12") holding the runs of the model (or models), of
    one of its scenarios, or one run (work files and results). A folder another run still names
    (a snapshot's copy of the run shares its results) is left out."""
    from engage_reflex.services import storage

    folders: list[str] = []
    model_ids = model_id if isinstance(model_id, list) else [model_id]
    stmt = select(Run.id, Run.artefact_dir).where(Run.model_id.in_(model_ids))
    if scenario_id is not None:
        stmt = stmt.where(Run.scenario_id == scenario_id)
    if run_id is not None:
        stmt = stmt.where(Run.id == run_id)
    chosen = session.exec(stmt).all()
    for run_id, artefact_dir in chosen:
        prefix = storage.run_prefix(run_id)
        candidates = [prefix]
        try:
            if artefact_dir and not storage.confine_key(artefact_dir).startswith(prefix + "/"):
                candidates.append(storage.confine_key(artefact_dir))
        except EngageError:  # not a key of the store (an old absolute path): nothing of ours to remove
            pass
        folders += [c for c in candidates if c not in folders]
    if not folders:
        return folders
    kept = session.exec(select(Run.artefact_dir).where(Run.id.not_in([r for r, _ in chosen]),
                                                       Run.artefact_dir != "")).all()
    return [f for f in folders if not any(d == f or d.startswith(f + "/") for d in kept)]


def _upload_folders(session: Session, model_id: int) -> list[str]:
    """The store prefixes of the model's uploaded files ("uploads/7"): they go with the model."""
    from engage_reflex.services.uploads import upload_prefix

    return [upload_prefix(upload_id) for upload_id in session.exec(select(Upload.id).where(Upload.model_id == model_id))]


def remove_run_folders(folders) -> None:
    """Remove the runs' files from the run files store, and this machine's work and scratch folders
    of them (call after the delete has committed). A store that does not answer leaves them (logged):
    the delete itself has happened."""
    from engage_reflex.services import storage

    store = storage.get_store()
    for prefix in folders:
        try:
            store.delete_prefix(prefix)
        except EngageError:
            LOGGER.warning("could not remove %s from the run files store", prefix, exc_info=True)
        parts = prefix.split("/")
        if len(parts) == 2 and parts[0] == "runs" and parts[1].isdigit():
            shutil.rmtree(storage.scratch_dir(int(parts[1])), ignore_errors=True)
            if not store.is_local:
                shutil.rmtree(storage.run_work_dir(int(parts[1])), ignore_errors=True)


@open_to_visitors
def get_model_counts(*, session: Session, user_id: int | None, model_id: int) -> ModelCounts:
    """How many locations, technologies, nodes, links and scenarios a model has."""
    require_view(session=session, user_id=user_id, model_id=model_id)
    counts = {table.__tablename__: _counts(session, table, [model_id]).get(model_id, 0)
              for table in (Location, Technology, Node, Link, Scenario, Carrier, Timeseries)}
    return ModelCounts(locations=counts["locations"], technologies=counts["technologies"], nodes=counts["nodes"],
                       links=counts["links"], scenarios=counts["scenarios"], carriers=counts["carriers"],
                       timeseries=counts["timeseries"])


def edit_model(*, session: Session, user_id: int, model_id: int, name: str, description: str,
               time_zone: str) -> ModelInfo:
    """Name, description and time zone at once (the Overview's form): all saved or none."""
    rename_model(session=session, user_id=user_id, model_id=model_id, name=name)
    return update_model_details(session=session, user_id=user_id, model_id=model_id, description=description,
                                time_zone=time_zone)
