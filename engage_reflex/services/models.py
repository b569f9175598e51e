"""Read models the way the pages need them: the list a user may open, and one model's detail."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

from sqlalchemy import func, or_
from sqlmodel import Session, select

from engage_reflex.models import (
    Collaborator,
    EnergyModel,
    Location,
    Scenario,
    Technology,
    Timeseries,
    User,
)
from engage_reflex.schemas import LocationView, ModelDetail, ModelSummary, ScenarioView, TechView
from engage_reflex.schemas.editor import ModelHeader
from engage_reflex.services.access import can_edit, require_view, role_of

_BASE_TECH_ORDER = {"supply": 0, "conversion": 1, "storage": 2, "transmission": 3, "demand": 4}


def _counts(session: Session, table, model_ids: list[int]) -> dict[int, int]:
    if not model_ids:
        return {}
    rows = session.exec(
        select(table.model_id, func.count(table.id)).where(table.model_id.in_(model_ids)).group_by(table.model_id)
    ).all()
    return {model_id: count for model_id, count in rows}


def list_models(*, session: Session, user_id: int) -> list[ModelSummary]:
    """The user's own models, models shared with them, then the public samples (by name)."""
    shared = select(Collaborator.model_id).where(Collaborator.user_id == user_id)
    collab_edit = dict(
        session.exec(select(Collaborator.model_id, Collaborator.can_edit).where(Collaborator.user_id == user_id)).all()
    )
    rows = session.exec(
        select(EnergyModel, User.email)
        .join(User, User.id == EnergyModel.owner_id)
        .where(or_(EnergyModel.owner_id == user_id, EnergyModel.is_public, EnergyModel.id.in_(shared)))
    ).all()
    ids = [model.id for model, _ in rows]
    locations = _counts(session, Location, ids)
    techs = _counts(session, Technology, ids)
    scenarios = _counts(session, Scenario, ids)
    summaries = []
    for model, owner_email in rows:
        is_own = model.owner_id == user_id
        summaries.append(
            ModelSummary(
                id=model.id,
                name=model.name,
                description=model.description,
                owner_email=owner_email,
                is_public=model.is_public,
                is_own=is_own,
                can_edit=is_own or collab_edit.get(model.id, False),
                locations=locations.get(model.id, 0),
                technologies=techs.get(model.id, 0),
                updated_at=_iso(model.updated_at),
                scenarios=scenarios.get(model.id, 0),
                is_shared=not is_own and model.id in collab_edit,
            )
        )
    # Own first, then shared, then public; by name within each group.
    summaries.sort(key=lambda m: (0 if m.is_own else 1 if m.is_shared else 2, m.name.lower(), m.id))
    return summaries


def get_model_detail(*, session: Session, user_id: int, model_id: int) -> ModelDetail:
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
        owner_email=owner.email if owner else "",
        time_start=time_start,
        time_end=time_end,
        default_subset_start=default_start,
        default_subset_end=default_end,
        scenarios=[ScenarioView(id=s.id, name=s.name, description=s.description) for s in scenarios],
        technologies=[
            TechView(id=t.id, name=t.name, display_name=t.display_name or t.name, base_tech=_base(t),
                     color=t.color or "#999999")
            for t in sorted(techs, key=lambda t: (_BASE_TECH_ORDER.get(_base(t), 9), (t.display_name or t.name).lower()))
        ],
        locations=[LocationView(id=loc.id, name=loc.name, latitude=loc.latitude, longitude=loc.longitude)
                   for loc in locations],
    )


def get_model_header(*, session: Session, user_id: int | None, model_id: int) -> ModelHeader:
    """The model and the user's role in it, for the top of every editor page."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    owner = session.get(User, model.owner_id)
    return ModelHeader(
        id=model.id, name=model.name, description=model.description, time_zone=model.time_zone or "UTC",
        is_public=model.is_public, owner_email=owner.email if owner else "",
        role=role_of(session=session, user_id=user_id, model=model) or "viewer", updated_at=_iso(model.updated_at),
    )


def _base(tech: Technology) -> str:
    return str(getattr(tech.base_tech, "value", tech.base_tech))


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


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
