"""The model's activity log, and what every edit does besides its own change.

Every editing service ends with `record_change(...)` in its own transaction: one row in the
activity log (who, what, when), the model's "last changed" time, and every run of the model
that has read its inputs marked out of date (they are no longer the model's). A run still
waiting for its build has not read them yet: it will solve the model as it is then.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, select

from engage_reflex.models import ActivityLog, EnergyModel, Run, User
from engage_reflex.models._common import iso_utc, utcnow
from engage_reflex.schemas.editor import ActivityView
from engage_reflex.services.access import is_member, open_to_visitors, require_view
from engage_reflex.services.users import hide_addresses, shown_name


def record_change(*, session: Session, model: EnergyModel, user_id: int | None, action: str, detail: str) -> None:
    """Log an edit of `model` by `user_id` and mark the model's started runs out of date (no commit)."""
    now = utcnow()
    session.add(ActivityLog(model_id=model.id, user_id=user_id, action=action, detail=detail, created_at=now))
    model.updated_at = now
    session.add(model)
    session.exec(
        update(Run)
        .where(Run.model_id == model.id, Run.started_at.is_not(None), Run.is_out_of_date.is_(False))
        .values(is_out_of_date=True)
    )
    session.flush()


@open_to_visitors
def list_activity(*, session: Session, user_id: int | None, model_id: int, limit: int = 50) -> list[ActivityView]:
    """The newest entries of a model's activity log first (for anyone who may view the model)."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    # Members read each other's addresses; a public model's other readers read names.
    reader = user_id if is_member(session=session, user_id=user_id, model=model) else None
    rows = session.exec(
        select(ActivityLog, User)
        .join(User, User.id == ActivityLog.user_id, isouter=True)
        .where(ActivityLog.model_id == model_id)
        .order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc())
        .limit(max(1, min(limit, 500)))
    ).all()
    return [
        ActivityView(id=row.id, when=iso_utc(row.created_at),
                     who=shown_name(user, reader_id=reader), action=row.action,
                     detail=row.detail if reader is not None else hide_addresses(session=session, text=row.detail))
        for row, user in rows
    ]
