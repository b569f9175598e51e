"""Public models on SQLite and PostgreSQL: the owner makes a model public (or private again); then
anyone reads it, logged in or not, and nobody without rights changes it. A visitor without a login
reaches only the services marked open to visitors (state.auth.call_as_user), never sees an email
address, and is sent to log in for anything private."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from engage_reflex.models import ActivityLog, EnergyModel
from engage_reflex.services import activity, feed, models, runs, sharing, techs, users
from engage_reflex.services.errors import LoginRequired, NotFound, PermissionDenied
from engage_reflex.state.auth import call_as_user

PASSWORD = "a-long-password"


@pytest.fixture
def people(session):
    ids = {}
    for name in ("owner", "ed", "reader"):
        ids[name] = users.register(session=session, email=f"{name}@example.org", password=PASSWORD).id
    ids["model"] = models.create_model(session=session, user_id=ids["owner"], name="Grid 2040").id
    sharing.share(session=session, user_id=ids["owner"], model_id=ids["model"], email="ed@example.org", can_edit=True)
    session.commit()
    ids["token"] = users.login(session=session, email="reader@example.org", password=PASSWORD)
    session.commit()
    return ids


def test_only_the_owner_makes_a_model_public_and_private_again(session, people):
    model_id = people["model"]
    for who in (people["ed"], people["reader"], None):
        with pytest.raises((PermissionDenied, NotFound)):
            sharing.set_public(session=session, user_id=who, model_id=model_id, public=True)
    shown = sharing.set_public(session=session, user_id=people["owner"], model_id=model_id, public=True)
    session.commit()
    assert shown.is_public and session.get(EnergyModel, model_id).is_public
    assert sharing.set_public(session=session, user_id=people["owner"], model_id=model_id, public=True).is_public
    session.commit()
    log = session.exec(select(ActivityLog.action).where(ActivityLog.model_id == model_id)).all()
    assert log.count("Made public") == 1  # saying it twice changes nothing

    # Now anyone reads it: a logged-in stranger and a visitor without a login.
    for who in (people["reader"], None):
        header = models.get_model_header(session=session, user_id=who, model_id=model_id)
        assert header.name == "Grid 2040" and header.role == "viewer" and header.is_public
        assert [m.name for m in models.list_models(session=session, user_id=who)] == ["Grid 2040"]
        assert techs.list_techs(session=session, user_id=who, model_id=model_id) == []
        with pytest.raises(PermissionDenied, match="can view “Grid 2040” but not change it"):
            models.rename_model(session=session, user_id=who, model_id=model_id, name="Mine")
    # ...but a visitor sees no email address: not the owner's, not in the activity.
    visitor_header = models.get_model_header(session=session, user_id=None, model_id=model_id)
    assert "@" not in visitor_header.owner_email
    assert not any("@" in entry.who for entry in activity.list_activity(session=session, user_id=None,
                                                                        model_id=model_id))
    assert [m.email for m in sharing.get_sharing(session=session, user_id=None, model_id=model_id).members] == [""]
    # Not inside the activity's words either ("Shared with ed@example.org" reads "Shared with an Engage user").
    details = [entry.detail for entry in activity.list_activity(session=session, user_id=None, model_id=model_id)]
    details += [item.text for item in feed.model_feed(session=session, user_id=None, model_id=model_id).items]
    assert any("with an Engage user (can edit)" in text for text in details)
    assert not any("@" in text for text in details)
    assert any("ed@example.org" in entry.detail  # a member reads who it was shared with
               for entry in activity.list_activity(session=session, user_id=people["ed"], model_id=model_id))
    # A logged-in reader who is not a member reads names too; the people it is shared with read addresses.
    assert "@" not in models.get_model_header(session=session, user_id=people["reader"], model_id=model_id).owner_email
    assert not any("@" in entry.who + entry.detail
                   for entry in activity.list_activity(session=session, user_id=people["reader"], model_id=model_id))
    assert models.get_model_header(session=session, user_id=people["ed"], model_id=model_id).owner_email == \
        "owner@example.org"

    sharing.set_public(session=session, user_id=people["owner"], model_id=model_id, public=False)
    session.commit()
    for who in (people["reader"], None):
        with pytest.raises(NotFound):
            models.get_model_header(session=session, user_id=who, model_id=model_id)
    assert models.get_model_header(session=session, user_id=people["ed"], model_id=model_id).role == "editor"


def test_a_visitor_without_a_login_reaches_only_services_open_to_visitors(session, people):
    """What every page event goes through: call_as_user with the browser's token ("" = no login)."""
    model_id = people["model"]
    rows_before = session.exec(select(func.count(ActivityLog.id))).one()
    with pytest.raises(LoginRequired, match="Please log in first"):  # an edit service: never for visitors
        call_as_user("", models.rename_model, {"model_id": model_id, "name": "Taken over"})
    with pytest.raises(LoginRequired, match="Please log in to see this"):  # private: a login may show it
        call_as_user("", models.get_model_header, {"model_id": model_id})
    with pytest.raises(LoginRequired, match="Your login has ended"):
        call_as_user("not-a-token", models.get_model_header, {"model_id": model_id})
    with pytest.raises(NotFound):  # a logged-in stranger: the model does not exist for them
        call_as_user(people["token"], models.get_model_header, {"model_id": model_id})

    sharing.set_public(session=session, user_id=people["owner"], model_id=model_id, public=True)
    session.commit()
    assert call_as_user("", models.get_model_header, {"model_id": model_id}).name == "Grid 2040"
    assert call_as_user(people["token"], models.get_model_header, {"model_id": model_id}).role == "viewer"
    with pytest.raises(LoginRequired, match="Please log in first"):
        call_as_user("", models.rename_model, {"model_id": model_id, "name": "Taken over"})
    with pytest.raises(PermissionDenied):
        call_as_user(people["token"], models.rename_model, {"model_id": model_id, "name": "Taken over"})
    session.expire_all()
    assert session.get(EnergyModel, model_id).name == "Grid 2040"
    assert session.exec(select(func.count(ActivityLog.id))).one() == rows_before + 1  # only "Made public"
    # A public model's part that is gone: the visitor is told so (a login would not help).
    with pytest.raises(NotFound, match="no technology with id 999999"):
        call_as_user("", techs.tech_usage, {"model_id": model_id, "tech_id": 999999})
    with pytest.raises(LoginRequired, match="Please log in to see this"):  # a private model's run
        call_as_user("", runs.get_run, {"run_id": 999999})
