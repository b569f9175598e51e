"""A model's feed: every change (its activity log), its runs starting and finishing, and what its
people wrote (comments, plain text, @mentions of the people it is shared with); and what is new
to each of them since they last read it (the count on My models).

Comments are the members' (owner and collaborators): only they read and write them. Anyone who may
read the model reads its changes and the runs they may see. A mention is an address of a member
after an @; each mentioned member is emailed (where Engage sends email) by a short-queue job.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from engage_reflex.models import (ActivityLog, Collaborator, Comment, EnergyModel, ModelRead, Run, RunStatus, Scenario,
                                  User)
from engage_reflex.models._common import as_utc, iso_utc, utcnow
from engage_reflex.services import queue as jobqueue
from engage_reflex.services.access import open_to_visitors, require_view
from engage_reflex.services.errors import EngageError, PermissionDenied
from engage_reflex.services.users import hide_addresses, normalise_email, shown_name

LOGGER = logging.getLogger(__name__)
MENTION_JOB = "jobs.account_emails.send_mention"
COMMENT_MAX = 4000
MENTION = re.compile(r"@([^\s@]+@[^\s@]+\.[^\s@,;:!?)\]]+)")
_FINAL = {RunStatus.succeeded.value: "succeeded", RunStatus.failed.value: "failed",
          RunStatus.cancelled.value: "was cancelled"}


@dataclass(frozen=True)
class FeedItem:
    kind: str  # "change" | "comment" | "run"
    title: str  # "Renamed", "Comment", "Run #12 succeeded"
    text: str
    who: str
    when: str  # ISO, UTC
    is_new: bool  # after the reader last read the feed, and not theirs


@dataclass(frozen=True)
class Feed:
    items: tuple[FeedItem, ...]
    can_comment: bool  # the reader is the owner or a collaborator


@dataclass(frozen=True)
class PostedComment:
    item: FeedItem
    mentioned: tuple[str, ...]  # the addresses told by email


def _member_ids(session: Session, model: EnergyModel) -> set[int]:
    """The owner and collaborators (of a snapshot: those of its model, as access.is_member)."""
    source = session.get(EnergyModel, model.snapshot_of_id) if model.snapshot_of_id is not None else None
    model = source or model
    people = session.exec(select(Collaborator.user_id).where(Collaborator.model_id == model.id)).all()
    return {model.owner_id, *people}


def _seen_at(session: Session, user_id: int | None, model_id: int) -> datetime | None:
    if user_id is None:
        return None
    read = session.get(ModelRead, (user_id, model_id))
    return as_utc(read.seen_at) if read is not None else None


@open_to_visitors
def model_feed(*, session: Session, user_id: int | None, model_id: int, limit: int = 60) -> Feed:
    """The newest changes, run events and (for its members) comments of a model, newest first."""
    from engage_reflex.services import runs  # runs imports much; only the feed needs it

    model = require_view(session=session, user_id=user_id, model_id=model_id)
    member = user_id is not None and user_id in _member_ids(session, model)
    seen = _seen_at(session, user_id, model.id)
    people: dict[int, User] = {}

    def who(person_id: int | None) -> str:
        if person_id is None:
            return ""
        if person_id not in people:
            people[person_id] = session.get(User, person_id)
        return shown_name(people[person_id], reader_id=user_id if member else None)

    def new(when: datetime | None, by: int | None) -> bool:
        return member and by != user_id and when is not None and (seen is None or as_utc(when) > seen)

    items: list[tuple[datetime, FeedItem]] = []
    for entry in session.exec(select(ActivityLog).where(ActivityLog.model_id == model.id)
                              .order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc()).limit(limit)):
        items.append((as_utc(entry.created_at), FeedItem(
            "change", entry.action,
            entry.detail if member else hide_addresses(session=session, text=entry.detail),
            who(entry.user_id), iso_utc(entry.created_at),
            new(entry.created_at, entry.user_id))))
    scenarios = dict(session.exec(select(Scenario.id, Scenario.name).where(Scenario.model_id == model.id)).all())
    shown_runs = session.exec(runs.visible_runs(session, user_id, model)
                              .order_by(Run.created_at.desc(), Run.id.desc()).limit(limit)).all()
    for run in shown_runs:
        scenario = f"scenario {scenarios.get(run.scenario_id, '?')}"
        items.append((as_utc(run.created_at), FeedItem("run", f"Run #{run.id} started", scenario, who(run.user_id),
                                                        iso_utc(run.created_at), new(run.created_at, run.user_id))))
        status = str(getattr(run.status, "value", run.status))
        if status in _FINAL and run.finished_at is not None:
            items.append((as_utc(run.finished_at), FeedItem(
                "run", f"Run #{run.id} {_FINAL[status]}", run.message or scenario, who(run.user_id),
                iso_utc(run.finished_at), new(run.finished_at, run.user_id))))
    if member:
        for comment in session.exec(select(Comment).where(Comment.model_id == model.id)
                                    .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit)):
            items.append((as_utc(comment.created_at), FeedItem(
                "comment", "Comment", comment.body, who(comment.user_id), iso_utc(comment.created_at),
                new(comment.created_at, comment.user_id))))
    items.sort(key=lambda pair: pair[0], reverse=True)
    return Feed(items=tuple(item for _, item in items[:limit]), can_comment=member)


def post_comment(*, session: Session, user_id: int, model_id: int, body: str) -> PostedComment:
    """A member's comment; each member mentioned as @address is emailed. Commits."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    members = _member_ids(session, model)
    if user_id not in members:
        raise PermissionDenied(f"Only the people “{model.name}” is shared with can comment on it.")
    text = "\n".join(line.rstrip() for line in (body or "").strip().splitlines())
    if not text:
        raise EngageError("Write something first: the comment is empty.")
    if len(text) > COMMENT_MAX:
        raise EngageError(f"The comment is {len(text):,} characters long; keep it to {COMMENT_MAX:,}.")
    addresses = {normalise_email(found) for found in MENTION.findall(text)}
    by_address = {u.email: u for u in session.exec(select(User).where(User.id.in_(members))).all()}
    strangers = sorted(a for a in addresses if a not in by_address)
    if strangers:
        raise EngageError(f"{', '.join(strangers)} cannot open “{model.name}”: share the model with them first, "
                          "or write the address without the @.")
    comment = Comment(model_id=model.id, user_id=user_id, body=text, created_at=utcnow())
    session.add(comment)
    _mark_seen(session, user_id, model.id)  # one's own comment is not news to oneself
    session.commit()
    told = tuple(sorted(a for a in addresses if by_address[a].id != user_id))
    for address in told:  # a job per person: a retry after SendGrid refused resends to nobody else
        person_id = by_address[address].id
        try:
            jobqueue.enqueue_email(MENTION_JOB, comment.id, person_id,
                                   description=f"email user {person_id} the mention in comment {comment.id}")
        except Exception:  # the comment stands; only the email is missing
            LOGGER.warning("could not queue the mention email of comment %s", comment.id, exc_info=True)
    author = session.get(User, user_id)
    item = FeedItem("comment", "Comment", text, shown_name(author, reader_id=user_id), iso_utc(comment.created_at),
                    False)
    return PostedComment(item=item, mentioned=told)


@dataclass(frozen=True)
class MentionEmail:
    to: str
    model_id: int
    model_name: str
    who: str  # the comment's author
    body: str


def mention_email(*, session: Session, comment_id: int, user_id: int) -> MentionEmail | None:
    """What to email `user_id` about being mentioned in the comment; None once the comment or its
    model is gone, or the person no longer may open the model or is not mentioned in it."""
    comment = session.get(Comment, comment_id)
    model = session.get(EnergyModel, comment.model_id) if comment is not None else None
    person = session.get(User, user_id)
    if comment is None or model is None or person is None or user_id == comment.user_id:
        return None
    if user_id not in _member_ids(session, model):
        return None
    if person.email not in {normalise_email(m) for m in MENTION.findall(comment.body)}:
        return None
    author = session.get(User, comment.user_id) if comment.user_id else None
    return MentionEmail(to=person.email, model_id=model.id, model_name=model.name,
                        who=shown_name(author, reader_id=user_id), body=comment.body)


def _mark_seen(session: Session, user_id: int, model_id: int) -> None:
    read = session.get(ModelRead, (user_id, model_id))
    if read is None:
        session.add(ModelRead(user_id=user_id, model_id=model_id, seen_at=utcnow()))
    else:
        read.seen_at = utcnow()
        session.add(read)


def mark_seen(*, session: Session, user_id: int, model_id: int) -> None:
    """The member has read the model's feed now (nothing for anyone else). Commits."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    if user_id in _member_ids(session, model):
        _mark_seen(session, user_id, model.id)
        session.commit()


def unread_counts(session: Session, user_id: int, model_ids: list[int]) -> dict[int, int]:
    """For models the user is a member of: how many changes, finished runs and comments of others
    came after the user last read each (all of them, if never)."""
    counts = dict.fromkeys(model_ids, 0)
    if not model_ids:
        return counts
    for table, when in ((ActivityLog, ActivityLog.created_at), (Comment, Comment.created_at),
                        (Run, Run.finished_at)):
        read = and_(ModelRead.model_id == table.model_id, ModelRead.user_id == user_id)
        rows = session.exec(
            select(table.model_id, func.count()).select_from(table).join(ModelRead, read, isouter=True)
            .where(table.model_id.in_(model_ids), when.is_not(None),
                   or_(table.user_id.is_(None), table.user_id != user_id),
                   or_(ModelRead.seen_at.is_(None), when > ModelRead.seen_at))
            .group_by(table.model_id)).all()
        for model_id, count in rows:
            counts[model_id] += count
    return counts
