"""Carriers: names, units checked with pint, colours, rights, delete refused while used (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from engage_reflex.models import ActivityLog, Collaborator, EnergyModel, Technology, TechnologyCarrier, User
from engage_reflex.services import carriers as svc
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied


@pytest.fixture
def world(session):
    users = {}
    for key in ("alice", "bob", "carol"):
        users[key] = User(email=f"{key}@example.org", password_hash="x")
        session.add(users[key])
    session.commit()
    model = EnergyModel(name="Island", owner_id=users["alice"].id)
    session.add(model)
    session.commit()
    session.add(Collaborator(model_id=model.id, user_id=users["bob"].id, can_edit=False))
    session.commit()
    return {**{k: u.id for k, u in users.items()}, "model": model.id}


def _refused(session, call, **kwargs) -> str:
    with pytest.raises(EngageError) as info:
        call(session=session, **kwargs)
    session.rollback()
    return info.value.message


BAD = [
    ({"name": ""}, "Give the carrier a name."),
    ({"name": "heat pump"}, "The carrier name “heat pump” cannot be used: Calliope needs names that start with a "
                            "letter"),
    ({"name": "power"}, "There is already a carrier called “power” in this model; choose another name."),
    ({"name": "POWER"}, "(“power” differs only in capital letters)"),
    ({"rate_unit": ""}, "Give the rate unit (e.g. kW, MW"),
    ({"rate_unit": "KW", "quantity_unit": "KWh"}, "The rate unit “KW” is not a unit Engage knows. Units are "
                                                 "case-sensitive"),
    ({"rate_unit": "5 kW"}, "The rate unit “5 kW” is not a unit"),
    ({"quantity_unit": "kWh*"}, "The quantity unit “kWh*” is not a unit"),
    ({"rate_unit": "%", "quantity_unit": "%"}, "has no physical dimension"),
    ({"quantity_unit": "kg"}, "The quantity unit “kg” is not the rate unit “kW” times a time (kW is a power, kg is "
                              "a mass)"),
    ({"rate_unit": "kWh", "quantity_unit": "MWh"}, "(kWh is an energy, MWh is an energy)"),
    ({"color": "red"}, "“red” is not a colour: use the form #rrggbb, e.g. #1f77b4"),
    ({"color": "#12345"}, "“#12345” is not a colour"),
]


def test_add_list_update_and_every_refusal(session, world):
    power = svc.add_carrier(session=session, user_id=world["alice"], model_id=world["model"], name="power",
                            rate_unit="kW", quantity_unit="kWh", color="#1F77B4", description=" Electricity ")
    svc.add_carrier(session=session, user_id=world["alice"], model_id=world["model"], name="hydrogen",
                    rate_unit="t/h", quantity_unit="t")
    svc.add_carrier(session=session, user_id=world["alice"], model_id=world["model"], name="gas",
                    rate_unit="m3/h", quantity_unit="m3", color="")
    session.commit()
    rows = svc.list_carriers(session=session, user_id=world["bob"], model_id=world["model"])
    assert [(r.name, r.rate_unit, r.quantity_unit) for r in rows] == [
        ("gas", "m3/h", "m3"), ("hydrogen", "t/h", "t"), ("power", "kW", "kWh")]
    assert (rows[2].color, rows[2].description, rows[2].used_by) == ("#1f77b4", "Electricity", [])
    assert rows[0].color == svc.PALETTE[2]  # an empty colour gets the next of the palette
    for kwargs, message in BAD:
        fields = {"name": "heat", "rate_unit": "kW", "quantity_unit": "kWh", "color": "#aa0000", **kwargs}
        assert message in _refused(session, svc.add_carrier, user_id=world["alice"], model_id=world["model"],
                                   **fields), kwargs
        if kwargs.get("name") not in ("power", "POWER"):  # renaming power to itself is fine
            assert message in _refused(session, svc.update_carrier, user_id=world["alice"], model_id=world["model"],
                                       carrier_id=power.id, **fields), kwargs
    assert len(svc.list_carriers(session=session, user_id=world["alice"], model_id=world["model"])) == 3

    row = svc.update_carrier(session=session, user_id=world["alice"], model_id=world["model"], carrier_id=power.id,
                             name="electricity", rate_unit="MW", quantity_unit="MWh", color="",
                             description="Electricity")
    session.commit()
    assert (row.name, row.rate_unit, row.quantity_unit, row.color) == ("electricity", "MW", "MWh", "#1f77b4")
    details = session.exec(select(ActivityLog.detail).where(ActivityLog.model_id == world["model"])
                           .order_by(ActivityLog.id)).all()
    assert details == ["Added carrier “power” (kW / kWh)", "Added carrier “hydrogen” (t/h / t)",
                       "Added carrier “gas” (m3/h / m3)",
                       "Changed carrier “electricity”: renamed from “power”, units MW / MWh"]


def test_delete_refused_while_used_naming_the_techs(session, world):
    power = svc.add_carrier(session=session, user_id=world["alice"], model_id=world["model"], name="power")
    spare = svc.add_carrier(session=session, user_id=world["alice"], model_id=world["model"], name="spare")
    session.commit()
    for name, role in [("ccgt", "out"), ("demand_power", "in"), ("battery", "in"), ("battery", "out")]:
        tech = session.exec(select(Technology).where(Technology.name == name)).first()
        if tech is None:
            tech = Technology(model_id=world["model"], name=name, base_tech="supply")
            session.add(tech)
            session.commit()
        session.add(TechnologyCarrier(technology_id=tech.id, carrier_id=power.id, role=role))
    session.commit()
    rows = {r.name: r for r in svc.list_carriers(session=session, user_id=world["alice"], model_id=world["model"])}
    assert rows["power"].used_by == ["battery", "ccgt", "demand_power"]
    assert _refused(session, svc.delete_carrier, user_id=world["alice"], model_id=world["model"],
                    carrier_id=power.id) == ("“power” cannot be deleted: 3 technologies use it (battery, ccgt, "
                                             "demand_power). Change their carriers first.")
    svc.delete_carrier(session=session, user_id=world["alice"], model_id=world["model"], carrier_id=spare.id)
    session.commit()
    assert [r.name for r in svc.list_carriers(session=session, user_id=world["alice"],
                                              model_id=world["model"])] == ["power"]
    assert "Deleted carrier “spare”" in session.exec(select(ActivityLog.detail)).all()
    assert "This carrier no longer exists" in _refused(
        session, svc.delete_carrier, user_id=world["alice"], model_id=world["model"], carrier_id=spare.id)


def test_rights_viewer_refused_stranger_not_found(session, world):
    power = svc.add_carrier(session=session, user_id=world["alice"], model_id=world["model"], name="power")
    session.commit()
    for call, kw in [(svc.add_carrier, {"name": "heat"}),
                     (svc.update_carrier, {"carrier_id": power.id, "name": "x", "rate_unit": "kW",
                                           "quantity_unit": "kWh"}),
                     (svc.delete_carrier, {"carrier_id": power.id})]:
        with pytest.raises(PermissionDenied, match="You can view “Island” but not change it"):
            call(session=session, user_id=world["bob"], model_id=world["model"], **kw)
        session.rollback()
        with pytest.raises(NotFound):
            call(session=session, user_id=world["carol"], model_id=world["model"], **kw)
        session.rollback()
    with pytest.raises(NotFound):
        svc.list_carriers(session=session, user_id=world["carol"], model_id=world["model"])
    other = EnergyModel(name="Other", owner_id=world["alice"])
    session.add(other)
    session.commit()
    assert "This carrier no longer exists" in _refused(
        session, svc.update_carrier, user_id=world["alice"], model_id=other.id, carrier_id=power.id, name="power",
        rate_unit="kW", quantity_unit="kWh")
