"""A model's timeseries as parameter values: attach one to a technology or a node parameter.

A series stands for the parameter over the time steps (demand's `sink_use_equals`, a PV's
`source_use_max`, a price in `cost_flow_in`); the exporter writes it to a Calliope
`data_tables` CSV. Whether the numbers are absolute (kW) or per unit of capacity or area is
Calliope's `source_unit` / `sink_unit` of the technology, set like any other parameter.
"""

from __future__ import annotations

from sqlmodel import Session, select

from engage_reflex.models import NodeParameter, TechParameter, Timeseries
from engage_reflex.schemas.techs import CatalogueEntry, ParameterChange, SeriesChoice
from engage_reflex.services import access, activity
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.parameters import (
    _check_value,
    _label,
    _node_context,
    _rows_by_name,
    _set_rows,
    _tech_or_404,
    _values_of,
    catalogue_entry,
    cost_class_for,
)

# What a series attached to these means, and how to say "per unit" the way Calliope does.
UNIT_HINTS = {
    "source_use": "Absolute by default (the carrier's rate unit); for a capacity factor (0–1) also set "
                  "source_unit to per_cap, per square metre: per_area.",
    "sink_use": "Absolute by default (the carrier's rate unit); for a profile per unit of capacity also set "
                "sink_unit to per_cap.",
}


def unit_hint(name: str) -> str:
    return next((hint for prefix, hint in UNIT_HINTS.items() if name.startswith(prefix)), "")


def _with_hint(message: str, name: str) -> str:
    hint = unit_hint(name)
    return f"{message}. {hint.rstrip('.')}" if hint else message


def series_choices(session: Session, model_id: int) -> list[SeriesChoice]:
    """The model's series a parameter can use, by name."""
    rows = session.exec(select(Timeseries.id, Timeseries.name, Timeseries.unit)
                        .where(Timeseries.model_id == model_id)).all()
    return sorted((SeriesChoice(id=i, name=n, unit=u or "") for i, n, u in rows), key=lambda c: c.name.lower())


def _series_entry(name: str) -> CatalogueEntry:
    entry = catalogue_entry(name)
    if entry.kind != "parameter" or entry.dtype != "float":
        what = "true or false" if entry.dtype == "bool" else "one setting"
        raise EngageError(f"{name} takes {what}, not a timeseries.")
    return entry


def _series(session: Session, model_id: int, series_id: int) -> Timeseries:
    series = session.get(Timeseries, series_id)
    if series is None or series.model_id != model_id:
        raise NotFound("This timeseries is not in this model (it may have been deleted). Reload the page.")
    return series


def attach_tech_series(*, session: Session, user_id: int | None, tech_id: int, name: str, series_id: int,
                       cost_class: str | None = None) -> ParameterChange:
    """Use a timeseries as a technology's parameter (one cost class of a cost), at every node."""
    tech = _tech_or_404(session, tech_id)
    model = access.require_edit(session=session, user_id=user_id, model_id=tech.model_id)
    entry = _series_entry(name)
    cost_class = cost_class_for(entry, cost_class)
    series = _series(session, model.id, series_id)
    by_name = _rows_by_name(session.exec(select(TechParameter).where(TechParameter.technology_id == tech.id)).all())
    values = {n: _values_of(r) for n, r in by_name.items() if n != entry.name}
    _check_value(entry, model=model, base_tech=str(getattr(tech.base_tech, "value", tech.base_tech)), values=values)
    _set_rows(session, TechParameter, {"technology_id": tech.id}, by_name.get(entry.name, []), entry, None,
              f"timeseries “{series.name}”", cost_class, timeseries_id=series.id)
    what = f"{entry.name} ({cost_class})" if cost_class else entry.name
    message = f"{what} of “{_label(tech)}” now follows the timeseries “{series.name}”"
    activity.record_change(session=session, model=model, user_id=user_id, action="tech_parameter_set",
                           detail=message)
    return ParameterChange(name=entry.name, message=_with_hint(message, entry.name), warnings=[])


def attach_node_series(*, session: Session, user_id: int | None, node_id: int, name: str, series_id: int,
                       cost_class: str | None = None) -> ParameterChange:
    """Use a timeseries as a parameter of one technology at one location (overrides the tech's value)."""
    node, tech, location = _node_context(session, node_id)
    model = access.require_edit(session=session, user_id=user_id, model_id=node.model_id)
    entry = _series_entry(name)
    cost_class = cost_class_for(entry, cost_class)
    series = _series(session, model.id, series_id)
    tech_by_name = _rows_by_name(session.exec(select(TechParameter).where(
        TechParameter.technology_id == tech.id)).all())
    node_by_name = _rows_by_name(session.exec(select(NodeParameter).where(NodeParameter.node_id == node.id)).all())
    values = {n: _values_of(r) for n, r in {**tech_by_name, **node_by_name}.items() if n != entry.name}
    _check_value(entry, model=model, base_tech=str(getattr(tech.base_tech, "value", tech.base_tech)), values=values)
    _set_rows(session, NodeParameter, {"node_id": node.id}, node_by_name.get(entry.name, []), entry, None,
              f"timeseries “{series.name}”", cost_class, timeseries_id=series.id)
    what = f"{entry.name} ({cost_class})" if cost_class else entry.name
    message = f"{what} of “{_label(tech)}” at “{location.name}” now follows the timeseries “{series.name}”"
    activity.record_change(session=session, model=model, user_id=user_id, action="node_parameter_set",
                           detail=message)
    return ParameterChange(name=entry.name, message=_with_hint(message, entry.name), warnings=[])
