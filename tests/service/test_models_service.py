"""Which models a user sees, and what the model page gets (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engage_reflex.models import (
    Collaborator,
    EnergyModel,
    Location,
    Scenario,
    Technology,
    Timeseries,
    User,
)
from engage_reflex.services import models as models_service
from engage_reflex.services.errors import NotFound


def _user(session, email: str) -> User:
    user = User(email=email, password_hash="x")
    session.add(user)
    session.commit()
    return user


def _model(session, owner: User, name: str, *, public: bool = False, config: dict | None = None) -> EnergyModel:
    model = EnergyModel(name=name, description=f"about {name}", owner_id=owner.id, is_public=public,
                        calliope_config=config or {})
    session.add(model)
    session.commit()
    return model


@pytest.fixture
def world(session):
    samples = _user(session, "samples@engage.local")
    alice = _user(session, "alice@example.org")
    bob = _user(session, "bob@example.org")
    sample = _model(session, samples, "National-scale example", public=True,
                    config={"init": {"subset": {"timesteps": ["2005-01-01", "2005-01-05"]}}})
    for name in ("base", "cold_fusion"):
        session.add(Scenario(model_id=sample.id, name=name))
    session.add_all([
        Location(model_id=sample.id, name="region2"),
        Location(model_id=sample.id, name="region1", latitude=40, longitude=-2),
        Technology(model_id=sample.id, name="demand_power", display_name="Power demand", base_tech="demand",
                   color="#072486"),
        Technology(model_id=sample.id, name="ccgt", display_name="Combined cycle gas turbine",
                   base_tech="supply", color="#E37A72"),
        Technology(model_id=sample.id, name="battery", base_tech="storage", color=""),
        Timeseries(model_id=sample.id, name="demand", start=datetime(2005, 1, 1, tzinfo=UTC),
                   end=datetime(2005, 12, 31, 23, tzinfo=UTC)),
        Timeseries(model_id=sample.id, name="csp", start=datetime(2005, 1, 1, tzinfo=UTC), end=datetime(2005, 12, 31, 23, tzinfo=UTC)),
    ])
    alice_model = _model(session, alice, "Alice's island")
    bob_private = _model(session, bob, "Bob's secret")
    bob_shared = _model(session, bob, "Bob's shared")
    session.add(Collaborator(model_id=bob_shared.id, user_id=alice.id, can_edit=False))
    session.commit()
    return {"alice": alice, "bob": bob, "sample": sample, "alice_model": alice_model,
            "bob_private": bob_private, "bob_shared": bob_shared}


def test_list_models_shows_own_shared_and_public_but_not_others_private(session, world):
    listed = models_service.list_models(session=session, user_id=world["alice"].id)
    assert [m.name for m in listed] == ["Alice's island", "Bob's shared", "National-scale example"]
    own, shared, public = listed
    assert own.is_own and own.can_edit and not own.is_shared and own.owner_email == "alice@example.org"
    assert shared.is_shared and not shared.is_own and not shared.can_edit
    assert public.is_public and not public.is_own and not public.can_edit
    assert (public.locations, public.technologies, public.scenarios) == (2, 3, 2)
    assert public.owner_email == "an Engage user"  # not a member: no address, and this owner has no name

    bob_sees = {m.name for m in models_service.list_models(session=session, user_id=world["bob"].id)}
    assert bob_sees == {"Bob's secret", "Bob's shared", "National-scale example"}


def test_model_detail_of_a_public_sample(session, world):
    detail = models_service.get_model_detail(session=session, user_id=world["alice"].id,
                                             model_id=world["sample"].id)
    assert detail.name == "National-scale example" and detail.owner_email == "an Engage user"
    assert detail.is_public and not detail.can_edit
    assert [s.name for s in detail.scenarios] == ["base", "cold_fusion"]
    assert [loc.name for loc in detail.locations] == ["region1", "region2"]
    # supply, storage, demand; a missing colour gets a neutral grey; a missing name falls back to the id.
    assert [t.name for t in detail.technologies] == ["ccgt", "battery", "demand_power"]
    assert detail.technologies[1].display_name == "battery" and detail.technologies[1].color == "#999999"
    assert detail.technologies[0].color == "#E37A72"
    assert (detail.time_start, detail.time_end) == ("2005-01-01", "2005-12-31")
    assert (detail.default_subset_start, detail.default_subset_end) == ("2005-01-01", "2005-01-05")


def test_model_detail_permissions(session, world):
    alice = world["alice"].id
    with pytest.raises(NotFound) as hidden:
        models_service.get_model_detail(session=session, user_id=alice, model_id=world["bob_private"].id)
    with pytest.raises(NotFound) as missing:
        models_service.get_model_detail(session=session, user_id=alice, model_id=999_999)
    # A private model and a missing one read the same, so ids reveal nothing.
    assert hidden.value.message.replace(str(world["bob_private"].id), "N") == \
        missing.value.message.replace("999999", "N")
    shared = models_service.get_model_detail(session=session, user_id=alice, model_id=world["bob_shared"].id)
    assert shared.name == "Bob's shared" and not shared.can_edit
    own = models_service.get_model_detail(session=session, user_id=alice, model_id=world["alice_model"].id)
    assert own.can_edit and own.scenarios == [] and own.time_start == ""


def test_month_subset_without_timeseries(session, world):
    model = _model(session, world["alice"], "Monthly", config={"init": {"subset": {"timesteps": ["2005-02", "2005-02"]}}})
    detail = models_service.get_model_detail(session=session, user_id=world["alice"].id, model_id=model.id)
    assert (detail.time_start, detail.time_end) == ("2005-02-01", "2005-02-28")
    assert (detail.default_subset_start, detail.default_subset_end) == ("2005-02-01", "2005-02-28")
