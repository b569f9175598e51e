"""Emails to people (short queue): the link to activate an account or choose a new password, the
invitation to a model shared with an address that has no account yet, a mention in a comment and
the daily digest.

Each job takes ids, reads what to send from the database, and sends one email through SendGrid
(jobs/alerts.send). An account link job makes the token in the `account_links` row the planner's
request made (services/accounts.issue_token: only its sha256 is stored). A send that certainly did
not happen raises, so rq retries it (services/queue.enqueue_email says how often; an account link
gives its token back first); any other failure is logged and not retried, since the email may have
gone out.
"""

from __future__ import annotations

import logging

from engage_reflex.db import session_scope
from engage_reflex.services import accounts
from engage_reflex.settings import get_settings
from jobs.alerts import Alert, SendFailed, send

LOGGER = logging.getLogger(__name__)


def email_for(purpose: str, *, to: str, url: str) -> Alert:
    """The email itself (pure)."""
    if purpose == accounts.ACTIVATE:
        return Alert(to=to, subject="Activate your Engage account", body=(
            "Welcome to Engage!\n\n"
            f"Please confirm that {to} is your email address by opening this link:\n\n{url}\n\n"
            "The link works for 48 hours. After that, log in with your email and password to get a new one.\n\n"
            "If you did not create an Engage account, ignore this email: nothing happens without the link.\n"
        ))
    return Alert(to=to, subject="Choose a new Engage password", body=(
        f"Somebody (we hope you) asked to choose a new password for the Engage account {to}.\n\n"
        f"Open this link to choose it:\n\n{url}\n\n"
        "The link works for one hour, once. Choosing a new password logs the account out everywhere.\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n"
    ))


def _email_job(what: str, compose, *, skipped: str, before_retry=None) -> str:
    """The shape of every email job: nothing without SendGrid; `compose(session, settings)` reads
    the rows and gives the email (None: nothing to send, `skipped` says why); then deliver it."""
    settings = get_settings()
    if not settings.sendgrid_api_key:
        return "skipped: no SENDGRID_API_KEY"
    with session_scope() as session:
        email = compose(session, settings)
    if email is None:
        return f"skipped: {skipped}"
    return _deliver(email, what, before_retry) or f"sent: {what}"


def send_account_email(link_id: int) -> str:
    def compose(session, settings) -> Alert | None:
        issued = accounts.issue_token(session=session, link_id=link_id)
        if issued is None:
            return None
        token, purpose, to = issued
        return email_for(purpose, to=to, url=accounts.link_url(purpose, token))

    def withdraw() -> None:  # the unsent email's token must work nowhere; the retry makes a new one
        with session_scope() as session:
            accounts.withdraw_token(session=session, link_id=link_id)

    return _email_job(f"account link {link_id}", compose, skipped="the link is no longer wanted",
                      before_retry=withdraw)


def _deliver(email: Alert, what: str, before_retry=None) -> str:
    """Send; "" when SendGrid took it. Not taken for now: `before_retry`, then raise, so that rq tries
    again (services/queue.enqueue_email). Any other failure is logged and not retried: the email
    may have gone out."""
    settings = get_settings()
    try:
        send(email, api_key=settings.sendgrid_api_key, sender=settings.email_from, host=settings.sendgrid_api_host)
    except SendFailed as exc:
        if exc.retry:
            if before_retry is not None:
                before_retry()
            raise
        LOGGER.error("could not email %s %s (not retried): %s", email.to, what, exc)
        return "failed: not retried"
    return ""


def invitation_for(*, to: str, model_name: str, who: str, can_edit: bool, register_url: str) -> Alert:
    """The invitation to a model, for an address without an account (pure)."""
    rights = "open and change" if can_edit else "open (view only)"
    return Alert(to=to, subject=f"{who} shared “{model_name}” with you on Engage", body=(
        f"{who} shared the energy model “{model_name}” with you on Engage: you can {rights} it.\n\n"
        f"To see it, create your Engage account with this address ({to}):\n\n{register_url}\n\n"
        "The model appears under My models once your account is active.\n\n"
        "If you do not know the sender, ignore this email: nothing happens unless you register.\n"
    ))


def send_invitation(invitation_id: int) -> str:
    from engage_reflex.services import sharing

    def compose(session, settings) -> Alert | None:
        found = sharing.invitation_email(session=session, invitation_id=invitation_id)
        if found is None:
            return None
        to, model_name, who, can_edit = found
        return invitation_for(to=to, model_name=model_name, who=who, can_edit=can_edit,
                              register_url=f"{settings.public_url}/register")

    return _email_job(f"invitation {invitation_id}", compose, skipped="the invitation is no longer open")


def mention_for(*, to: str, model_name: str, who: str, comment: str, model_url: str) -> Alert:
    """The email to a member mentioned in a comment (pure)."""
    quoted = "\n".join("> " + line for line in comment.splitlines())
    return Alert(to=to, subject=f"{who} mentioned you on “{model_name}”", body=(
        f"{who} mentioned you in a comment on the energy model “{model_name}” on Engage:\n\n{quoted}\n\n"
        f"Read it and answer on the model's Overview:\n\n{model_url}\n"
    ))


def send_mention(comment_id: int, user_id: int) -> str:
    """Email one member a comment mentions (one job per person, so a retry resends to nobody else)."""
    from engage_reflex.services import feed

    def compose(session, settings) -> Alert | None:
        found = feed.mention_email(session=session, comment_id=comment_id, user_id=user_id)
        if found is None:
            return None
        return mention_for(to=found.to, model_name=found.model_name, who=found.who, comment=found.body,
                           model_url=f"{settings.public_url}/models/{found.model_id}")

    return _email_job(f"mention of user {user_id} in comment {comment_id}", compose,
                      skipped="the comment, or the person's rights, are gone")


def digest_for(*, to: str, models: list, public_url: str) -> Alert:
    """The daily digest email (pure): each model with something new, its newest items and a link."""
    total = sum(m.new for m in models)
    lines = [f"What is new on your models on Engage since yesterday ({total} in all):", ""]
    for m in models:
        lines += [f"{m.name} — {m.new} new", *(f"  • {item}" for item in m.items),
                  f"  {public_url}/models/{m.model_id}", ""]
    lines.append(f"You get this email once a day because you asked for it; turn it off on {public_url}/profile.")
    return Alert(to=to, subject=f"Engage: {total} new on {len(models)} of your models", body="\n".join(lines) + "\n")


def send_digest(user_id: int) -> str:
    """The day's digest of one person (queued by services.digests.queue_due_digests)."""
    from engage_reflex.services import digests

    def compose(session, settings) -> Alert | None:
        to, models = digests.digest_of(session=session, user_id=user_id)
        return digest_for(to=to, models=models, public_url=settings.public_url) if models else None

    return _email_job(f"digest of user {user_id}", compose, skipped="nothing new")
