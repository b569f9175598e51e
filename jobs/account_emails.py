"""Account emails (short queue): the link to activate an account or choose a new password, and the
invitation to a model shared with an address that has no account yet.

The job takes the id of the `account_links` row the planner's request made, makes the token
there (services/accounts.issue_token: only its sha256 is stored) and sends it through SendGrid
(jobs/alerts.send). A send that certainly did not happen gives the token back and raises, so
rq retries it (the enqueue says how often); any other failure is logged and not retried, since
the email may have gone out.
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


def send_account_email(link_id: int) -> str:
    settings = get_settings()
    if not settings.sendgrid_api_key:
        return "skipped: no SENDGRID_API_KEY"
    with session_scope() as session:
        issued = accounts.issue_token(session=session, link_id=link_id)
    if issued is None:
        return "skipped: the link is no longer wanted"
    token, purpose, to = issued
    email = email_for(purpose, to=to, url=accounts.link_url(purpose, token))

    def withdraw() -> None:
        with session_scope() as session:
            accounts.withdraw_token(session=session, link_id=link_id)

    return _deliver(email, f"the {purpose} link", before_retry=withdraw) or f"sent: {purpose}"


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

    settings = get_settings()
    if not settings.sendgrid_api_key:
        return "skipped: no SENDGRID_API_KEY"
    with session_scope() as session:
        found = sharing.invitation_email(session=session, invitation_id=invitation_id)
    if found is None:
        return "skipped: the invitation is no longer open"
    to, model_name, who, can_edit = found
    email = invitation_for(to=to, model_name=model_name, who=who, can_edit=can_edit,
                           register_url=f"{settings.public_url}/register")
    return _deliver(email, f"the invitation {invitation_id}") or "sent: invitation"


def mention_for(*, to: str, model_name: str, who: str, comment: str, model_url: str) -> Alert:
    """The email to a member mentioned in a comment (pure)."""
    quoted = "\n".join("> " + line for line in comment.splitlines())
    return Alert(to=to, subject=f"{who} mentioned you on “{model_name}”", body=(
        f"{who} mentioned you in a comment on the energy model “{model_name}” on Engage:\n\n{quoted}\n\n"
        f"Read it and answer on the model's Overview:\n\n{model_url}\n"
    ))


def send_mentions(comment_id: int) -> str:
    """Email each member a comment mentions (short queue; retried by rq when SendGrid is down)."""
    from engage_reflex.models import Comment
    from engage_reflex.services import feed

    settings = get_settings()
    if not settings.sendgrid_api_key:
        return "skipped: no SENDGRID_API_KEY"
    with session_scope() as session:
        told, model_name, who, body = feed.mention_emails(session=session, comment_id=comment_id)
        comment = session.get(Comment, comment_id)
        model_id = comment.model_id if comment is not None else 0
    failed = [to for to in told
              if _deliver(mention_for(to=to, model_name=model_name, who=who, comment=body,
                                      model_url=f"{settings.public_url}/models/{model_id}"),
                          f"the mention in comment {comment_id}")]
    return f"sent: {len(told) - len(failed)} mention(s)" + (f", {len(failed)} failed" if failed else "")


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

    settings = get_settings()
    if not settings.sendgrid_api_key:
        return "skipped: no SENDGRID_API_KEY"
    with session_scope() as session:
        to, models = digests.digest_of(session=session, user_id=user_id)
    if not models:
        return "skipped: nothing new"
    return _deliver(digest_for(to=to, models=models, public_url=settings.public_url),
                    f"the digest of user {user_id}") or f"sent: digest of {len(models)} models"
