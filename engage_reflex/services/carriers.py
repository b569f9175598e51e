"""Carriers of a model (electricity, heat, gas, …): list, add, edit, delete.

Calliope's carriers are bare names; Engage adds units (a rate such as kW and the quantity it
adds up to over time, kWh) used to convert what planners type, a colour and a description.
"""

from __future__ import annotations

import functools
import re

from sqlalchemy import func
from sqlmodel import Session, select

from engage_reflex.models import Carrier, Technology, TechnologyCarrier
from engage_reflex.schemas.locations import CarrierRow
from engage_reflex.services import names
from engage_reflex.services.access import open_to_visitors, require_edit, require_view
from engage_reflex.services.activity import record_change
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.scenarios import rename_in_constraints
from engage_reflex.services.names import check_calliope_name

PALETTE = ["#0d9488", "#2563eb", "#d97706", "#dc2626", "#7c3aed", "#059669", "#db2777", "#475569"]
_UNIT_EXAMPLES = "e.g. kW, MW, GJ/h, t/h, m^3/h"


@functools.cache
def _units():
    import pint

    # "m3/h" is how planners write cubic metres: read m2/m3 as m**2/m**3.
    return pint.UnitRegistry(preprocessors=[lambda s: re.sub(r"(?<![\w.])(c?m)([23])(?![\w.])", r"\1**\2", s)])


def _parse_unit(text: str, *, label: str):
    import pint

    if not text:
        raise EngageError(f"Give the {label} ({_UNIT_EXAMPLES}).")
    try:
        unit = _units().parse_units(text)
    except pint.UndefinedUnitError:
        raise EngageError(f"The {label} “{text}” is not a unit Engage knows. Units are case-sensitive "
                          f"({_UNIT_EXAMPLES}).") from None
    except (ValueError, TypeError, AttributeError, pint.errors.PintError):
        raise EngageError(f"The {label} “{text}” is not a unit ({_UNIT_EXAMPLES}; no numbers in front).") from None
    if unit.dimensionless:
        raise EngageError(f"The {label} “{text}” has no physical dimension ({_UNIT_EXAMPLES}).")
    return unit


_KINDS = {"W": "a power", "J": "an energy", "kg": "a mass", "kg/s": "a mass flow", "m**3": "a volume",
          "m**3/s": "a volume flow", "s": "a time", "m": "a length", "mol": "an amount", "mol/s": "a molar flow"}


def _kind(unit) -> str:
    for example, kind in _KINDS.items():
        if _units().parse_units(example).dimensionality == unit.dimensionality:
            return kind
    return "a " + str(unit.dimensionality).replace("[", "").replace("]", "")


def check_units(rate_unit: str, quantity_unit: str) -> tuple[str, str]:
    """Both are pint units and quantity = rate × time (kW → kWh, t/h → t); planner-worded refusal."""
    rate_text, quantity_text = (rate_unit or "").strip(), (quantity_unit or "").strip()
    rate = _parse_unit(rate_text, label="rate unit")
    quantity = _parse_unit(quantity_text, label="quantity unit")
    if (quantity / rate).dimensionality != _units().parse_units("hour").dimensionality:
        kinds = f" ({rate_text} is {_kind(rate)}, {quantity_text} is {_kind(quantity)})"
        raise EngageError(
            f"The quantity unit “{quantity_text}” is not the rate unit “{rate_text}” times a time{kinds}: a rate "
            f"over an hour must add up to the quantity (kW → kWh, MW → MWh, t/h → t, m^3/h → m^3).")
    return rate_text, quantity_text


def check_color(color: str, *, fallback_index: int = 0) -> str:
    return names.check_color(color) or PALETTE[fallback_index % len(PALETTE)]


def _carrier(session: Session, model_id: int, carrier_id: int) -> Carrier:
    carrier = session.get(Carrier, carrier_id)
    if carrier is None or carrier.model_id != model_id:
        raise NotFound("This carrier no longer exists (it may have been deleted in another tab). Reload the page.")
    return carrier


def _check_unique(session: Session, model_id: int, name: str, *, except_id: int | None = None) -> None:
    rows = session.exec(select(Carrier.id, Carrier.name).where(
        Carrier.model_id == model_id, func.lower(Carrier.name) == name.lower())).all()
    for row_id, other in rows:
        if row_id != except_id:
            same = "" if other == name else f" (“{other}” differs only in capital letters)"
            raise EngageError(f"There is already a carrier called “{name}” in this model{same}; choose another name.")


def _users(session: Session, carrier_ids: list[int]) -> dict[int, list[str]]:
    if not carrier_ids:
        return {}
    rows = session.exec(select(TechnologyCarrier.carrier_id, Technology.name)
                        .join(Technology, Technology.id == TechnologyCarrier.technology_id)
                        .where(TechnologyCarrier.carrier_id.in_(carrier_ids))).all()
    out: dict[int, set[str]] = {}
    for carrier_id, tech in rows:
        out.setdefault(carrier_id, set()).add(tech)
    return {k: sorted(v, key=str.lower) for k, v in out.items()}


def _row(carrier: Carrier, used_by: list[str]) -> CarrierRow:
    return CarrierRow(id=carrier.id, name=carrier.name, description=carrier.description or "",
                      rate_unit=carrier.rate_unit, quantity_unit=carrier.quantity_unit, color=carrier.color or "",
                      used_by=used_by)


@open_to_visitors
def list_carriers(*, session: Session, user_id: int | None, model_id: int) -> list[CarrierRow]:
    require_view(session=session, user_id=user_id, model_id=model_id)
    carriers = session.exec(select(Carrier).where(Carrier.model_id == model_id)).all()
    users = _users(session, [c.id for c in carriers])
    return sorted((_row(c, users.get(c.id, [])) for c in carriers), key=lambda r: (r.name.lower(), r.name))


def add_carrier(*, session: Session, user_id: int | None, model_id: int, name: str, rate_unit: str = "kW",
                quantity_unit: str = "kWh", color: str = "", description: str = "") -> CarrierRow:
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    name = check_calliope_name(name, what="carrier")
    rate, quantity = check_units(rate_unit, quantity_unit)
    count = len(session.exec(select(Carrier.id).where(Carrier.model_id == model_id)).all())
    color = check_color(color, fallback_index=count)
    _check_unique(session, model_id, name)
    carrier = Carrier(model_id=model_id, name=name, rate_unit=rate, quantity_unit=quantity, color=color,
                      description=(description or "").strip())
    session.add(carrier)
    session.flush()
    record_change(session=session, model=model, user_id=user_id, action="carrier.add",
                  detail=f"Added carrier “{name}” ({rate} / {quantity})")
    return _row(carrier, [])


def update_carrier(*, session: Session, user_id: int | None, model_id: int, carrier_id: int, name: str,
                   rate_unit: str, quantity_unit: str, color: str = "", description: str = "") -> CarrierRow:
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    carrier = _carrier(session, model_id, carrier_id)
    if name != carrier.name:  # an imported name Calliope took is kept as it is
        name = check_calliope_name(name, what="carrier")
    rate, quantity = check_units(rate_unit, quantity_unit)
    color = check_color(color) if (color or "").strip() else (carrier.color or check_color(""))
    _check_unique(session, model_id, name, except_id=carrier.id)
    description = (description or "").strip()
    changes = []
    if name != carrier.name:
        changes.append(f"renamed from “{carrier.name}”")
        rename_in_constraints(session, model_id=model_id, kind="carrier", old=carrier.name, new=name)
    if (rate, quantity) != (carrier.rate_unit, carrier.quantity_unit):
        changes.append(f"units {rate} / {quantity}")
    if color != (carrier.color or ""):
        changes.append("colour")
    if description != (carrier.description or ""):
        changes.append("description")
    if changes:
        carrier.name, carrier.rate_unit, carrier.quantity_unit = name, rate, quantity
        carrier.color, carrier.description = color, description
        session.add(carrier)
        session.flush()
        record_change(session=session, model=model, user_id=user_id, action="carrier.update",
                      detail=f"Changed carrier “{name}”: {', '.join(changes)}")
    return _row(carrier, _users(session, [carrier.id]).get(carrier.id, []))


def delete_carrier(*, session: Session, user_id: int | None, model_id: int, carrier_id: int) -> CarrierRow:
    """Delete an unused carrier; refused, naming the technologies, while any uses it."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    carrier = _carrier(session, model_id, carrier_id)
    used_by = _users(session, [carrier.id]).get(carrier.id, [])
    if used_by:
        names = ", ".join(used_by[:10]) + (f" and {len(used_by) - 10} more" if len(used_by) > 10 else "")
        raise EngageError(f"“{carrier.name}” cannot be deleted: {len(used_by)} technolog"
                          f"{'y uses' if len(used_by) == 1 else 'ies use'} it ({names}). "
                          "Change their carriers first.")
    row = _row(carrier, [])
    session.delete(carrier)
    session.flush()
    record_change(session=session, model=model, user_id=user_id, action="carrier.delete",
                  detail=f"Deleted carrier “{row.name}”")
    return row
