"""Sharing a model (services/sharing.py) on SQLite and PostgreSQL: the owner shares by address with
view or edit rights, changes and ends them, invites addresses without an account (their rights
start once the account is active), hands the model over; others may only look, or leave."""

from __future__ import annotations

import pytest
from sqlmodel import select

from engage_reflex.models import ActivityLog, Collaborator, EnergyModel, Invitation, User
from engage_reflex.services import access, accounts, models, sharing, users
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied
from engage_reflex.settings import get_settings

PASSWORD = "a-long-password"


@pytest.fixture
def team(session):
    ids = {}
    for name in ("owner", "vera", "ed"):
        ids[name] = users.register(session=session, email=f"{name}@example.org", password=PASSWORD).id
    ids["model"] = models.create_model(session=session, user_id=ids["owner"], name="Grid 2040").id
    session.commit()
    return ids


def _roles(view: sharing.Sharing) -> dict[str, str]:
    return {m.email: m.role + (" (invited)" if m.pending else "") for m in view.members}


def test_the_owner_shares_changes_and_ends_rights_and_the_log_says_so(session, team):
    shown = sharing.share(session=session, user_id=team["owner"], model_id=team["model"], email=" Vera@Example.org ",
                          can_edit=False)
    assert _roles(shown) == {"owner@example.org": "owner", "vera@example.org": "viewer"} and shown.can_manage
    model = session.get(EnergyModel, team["model"])
    assert access.can_view(session=session, user_id=team["vera"], model=model)
    assert not access.can_edit(session=session, user_id=team["vera"], model=model)
    with pytest.raises(PermissionDenied, match="can view “Grid 2040” but not change it"):
        models.rename_model(session=session, user_id=team["vera"], model_id=team["model"], name="Mine now")

    sharing.share(session=session, user_id=team["owner"], model_id=team["model"], email="vera@example.org",
                  can_edit=True)
    assert access.can_edit(session=session, user_id=team["vera"], model=model)
    assert models.rename_model(session=session, user_id=team["vera"], model_id=team["model"], name="Grid 2045")
    session.commit()

    seen_by_vera = sharing.get_sharing(session=session, user_id=team["vera"], model_id=team["model"])
    assert _roles(seen_by_vera)["vera@example.org"] == "editor" and not seen_by_vera.can_manage
    with pytest.raises(PermissionDenied, match="Only the owner of “Grid 2045”"):
        sharing.share(session=session, user_id=team["vera"], model_id=team["model"], email="ed@example.org",
                      can_edit=True)

    shown = sharing.unshare(session=session, user_id=team["owner"], model_id=team["model"], email="vera@example.org")
    assert _roles(shown) == {"owner@example.org": "owner"}
    with pytest.raises(NotFound):  # she can no longer even tell it exists
        sharing.get_sharing(session=session, user_id=team["vera"], model_id=team["model"])
    log = [(a.action, a.detail) for a in session.exec(select(ActivityLog).where(
        ActivityLog.model_id == team["model"]).order_by(ActivityLog.id)).all()]
    assert ("Shared", "with vera@example.org (can view)") in log
    assert ("Sharing changed", "vera@example.org now can edit") in log
    assert ("Sharing ended", "vera@example.org can no longer open it") in log


def test_sharing_refuses_in_words(session, team):
    def share(email, user="owner", can_edit=False):
        return sharing.share(session=session, user_id=team[user], model_id=team["model"], email=email,
                             can_edit=can_edit)

    with pytest.raises(EngageError, match="Please enter the email address"):
        share("  ")
    with pytest.raises(EngageError, match="does not look like an email address"):
        share("vera at example")
    with pytest.raises(EngageError, match="You own “Grid 2040”"):
        share("owner@example.org")
    session.add(User(email="samples@engage.local", password_hash=users.UNUSABLE_PASSWORD_PREFIX, is_active=False))
    session.commit()
    with pytest.raises(EngageError, match="Nobody can log in as samples@engage.local"):
        share("samples@engage.local")
    with pytest.raises(NotFound):  # a stranger cannot share (nor see) a private model
        share("vera@example.org", user="ed")
    with pytest.raises(NotFound, match="not shared with ed@example.org"):
        sharing.unshare(session=session, user_id=team["owner"], model_id=team["model"], email="ed@example.org")


def test_an_invited_address_gets_its_rights_once_its_account_is_active(session, team, monkeypatch, redis_url):
    shown = sharing.share(session=session, user_id=team["owner"], model_id=team["model"], email="new@example.org",
                          can_edit=True)
    assert _roles(shown)["new@example.org"] == "editor (invited)"
    assert sharing.invitation_email(session=session, invitation_id=session.exec(select(Invitation)).one().id) == (
        "new@example.org", "Grid 2040", "owner@example.org", True)

    # Where email is on, registering is not enough: the address must be confirmed first.
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test-key")
    get_settings.cache_clear()
    newcomer = accounts.register(session=session, email="new@example.org", password=PASSWORD).user
    model = session.get(EnergyModel, team["model"])
    assert not access.can_view(session=session, user_id=newcomer.id, model=model)
    link = session.exec(select(accounts.AccountLink)).one()
    token, _, _ = accounts.issue_token(session=session, link_id=link.id)
    accounts.activate(session=session, token=token)
    assert access.can_edit(session=session, user_id=newcomer.id, model=model)
    assert _roles(sharing.get_sharing(session=session, user_id=team["owner"], model_id=team["model"]))[
        "new@example.org"] == "editor"
    assert sharing.invitation_email(session=session, invitation_id=session.exec(select(Invitation)).one().id) is None


def test_an_invitation_can_be_withdrawn_before_it_is_used(session, team):
    sharing.share(session=session, user_id=team["owner"], model_id=team["model"], email="later@example.org",
                  can_edit=False)
    sharing.unshare(session=session, user_id=team["owner"], model_id=team["model"], email="later@example.org")
    later = accounts.register(session=session, email="later@example.org", password=PASSWORD).user  # no email: active
    assert not access.can_view(session=session, user_id=later.id, model=session.get(EnergyModel, team["model"]))


def test_without_email_an_account_and_its_invitations_are_one_registration(session, team, monkeypatch):
    """Registering where Engage sends no email: the account is usable at once and its invitations are
    accepted with it; if accepting fails, there is no account either (registering again works)."""
    sharing.share(session=session, user_id=team["owner"], model_id=team["model"], email="new@example.org",
                  can_edit=False)

    def fails(session, user):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(sharing, "accept_invitations", fails)
    with pytest.raises(RuntimeError):
        accounts.register(session=session, email="new@example.org", password=PASSWORD)
    assert session.exec(select(User).where(User.email == "new@example.org")).first() is None
    monkeypatch.undo()
    newcomer = accounts.register(session=session, email="new@example.org", password=PASSWORD).user
    session.expire_all()
    assert access.role_of(session=session, user_id=newcomer.id, model=session.get(EnergyModel, team["model"])) == \
        "viewer"


def test_ownership_moves_to_a_collaborator_and_the_old_owner_keeps_edit_rights(session, team):
    with pytest.raises(EngageError, match="Share “Grid 2040” with ed@example.org first"):
        sharing.transfer_ownership(session=session, user_id=team["owner"], model_id=team["model"],
                                   email="ed@example.org")
    sharing.share(session=session, user_id=team["owner"], model_id=team["model"], email="ed@example.org",
                  can_edit=False)
    models.create_model(session=session, user_id=team["ed"], name="Grid 2040")
    session.commit()
    with pytest.raises(EngageError, match="already owns a model called “Grid 2040”"):
        sharing.transfer_ownership(session=session, user_id=team["owner"], model_id=team["model"],
                                   email="ed@example.org")
    models.rename_model(session=session, user_id=team["owner"], model_id=team["model"], name="Grid 2040 (shared)")
    session.commit()
    shown = sharing.transfer_ownership(session=session, user_id=team["owner"], model_id=team["model"],
                                       email="ed@example.org")
    assert _roles(shown) == {"ed@example.org": "owner", "owner@example.org": "editor"} and not shown.can_manage
    with pytest.raises(PermissionDenied, match="Only the owner"):
        sharing.unshare(session=session, user_id=team["owner"], model_id=team["model"], email="ed@example.org")
    with pytest.raises(PermissionDenied, match="Only the owner can delete"):
        models.delete_model(session=session, user_id=team["owner"], model_id=team["model"])


def test_a_collaborator_may_leave(session, team):
    sharing.share(session=session, user_id=team["owner"], model_id=team["model"], email="vera@example.org",
                  can_edit=True)
    assert sharing.leave(session=session, user_id=team["vera"], model_id=team["model"]) == "Grid 2040"
    assert session.exec(select(Collaborator).where(Collaborator.model_id == team["model"])).all() == []
    with pytest.raises(EngageError, match="You own this model"):
        sharing.leave(session=session, user_id=team["owner"], model_id=team["model"])


def test_readers_of_a_public_model_see_only_its_owner(session, team):
    sharing.share(session=session, user_id=team["owner"], model_id=team["model"], email="vera@example.org",
                  can_edit=True)
    model = session.get(EnergyModel, team["model"])
    model.is_public = True
    session.add(model)
    session.commit()
    shown = sharing.get_sharing(session=session, user_id=team["ed"], model_id=team["model"])  # not shared with
    assert _roles(shown) == {"owner@example.org": "owner"} and not shown.can_manage and shown.is_public
    shown = sharing.get_sharing(session=session, user_id=None, model_id=team["model"])  # a visitor: no addresses
    assert [(m.email, m.role) for m in shown.members] == [("", "owner")] and not shown.can_manage
    assert "vera@example.org" in _roles(sharing.get_sharing(session=session, user_id=team["vera"],
                                                           model_id=team["model"]))
