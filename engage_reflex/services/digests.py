"""The optional daily digest: once a day, to each person who turned it on (Your profile; off by
default), an email listing their models with something new since they last read them (the same
count My models shows) and the newest few items of each. Nothing new: no email.

Workers send it: every worker's maintenance pass (jobs/reconciler.py) calls `queue_due_digests`,
which claims each person's day with one conditional UPDATE, so exactly one worker queues the
email job of the day, whichever of them gets there first. No scheduler of our own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, select

from engage_reflex.models import Collaborator, EnergyModel, User
from engage_reflex.services import feed
from engage_reflex.services import queue as jobqueue

LOGGER = logging.getLogger(__name__)
DIGEST_JOB = "jobs.account_emails.send_digest"
ITEMS_PER_MODEL = 5


@dataclass(frozen=True)
class DigestModel:
    model_id: int
    name: str
    new: int
    items: tuple[str, ...]  # "Ben Viewer: Changed the description (2 hours ago)"


def set_daily_digest(*, session: Session, user_id: int, on: bool) -> bool:
    """Turn the person's daily digest on or off. Commits."""
    user = session.get(User, user_id)
    user.daily_digest = bool(on)
    session.add(user)
    session.commit()
    return user.daily_digest


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def claim_due(*, session: Session, day: str | None = None) -> list[int]:
    """The people whose digest of `day` (default: today, UTC) is due, each claimed for this caller
    only (commits): another worker's claim of the same day finds nobody left."""
    day = day or today()
    due = session.exec(select(User.id).where(User.daily_digest, User.is_active, User.digest_day != day)).all()
    claimed = []
    for user_id in due:
        done = session.exec(update(User).where(User.id == user_id, User.daily_digest, User.digest_day != day)
                            .values(digest_day=day))
        if done.rowcount == 1:
            claimed.append(user_id)
    session.commit()
    return claimed


def queue_due_digests() -> int:
    """Claim today's due digests and queue their email jobs; how many. Never raises (a worker's pass)."""
    from engage_reflex.db import session_scope
    from engage_reflex.settings import get_settings

    if not get_settings().sendgrid_api_key:  # no email here: nothing to send, no day to use up
        return 0
    try:
        with session_scope() as session:
            claimed = claim_due(session=session)
        for user_id in claimed:
            jobqueue.enqueue_email(DIGEST_JOB, user_id, description=f"daily digest of user {user_id}")
        return len(claimed)
    except Exception:
        LOGGER.exception("queueing the daily digests failed; the next pass tries again")
        return 0


def digest_of(*, session: Session, user_id: int) -> tuple[str, list[DigestModel]]:
    """(the person's address, their models with something new), for the digest email."""
    user = session.get(User, user_id)
    if user is None or not user.daily_digest:
        return "", []
    shared = select(Collaborator.model_id).where(Collaborator.user_id == user_id)
    mine = session.exec(select(EnergyModel).where(
        or_(EnergyModel.owner_id == user_id, EnergyModel.id.in_(shared)),
        EnergyModel.snapshot_of_id.is_(None)).order_by(EnergyModel.name)).all()
    counts = feed.unread_counts(session, user_id, [m.id for m in mine])
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    found = []
    for model in mine:
        if not counts.get(model.id):
            continue
        shown = feed.model_feed(session=session, user_id=user_id, model_id=model.id, limit=ITEMS_PER_MODEL * 10)
        # What is new to them and came in the last day: unread older news was in an earlier digest.
        fresh = [i for i in shown.items if i.is_new and i.when >= since]
        if fresh:
            items = tuple(f"{i.who or 'Engage'}: {i.title} — {i.text}"[:300] for i in fresh[:ITEMS_PER_MODEL])
            found.append(DigestModel(model.id, model.name, len(fresh), items))
    return user.email, found
