"""Technologies of a model: list, create from a base tech, change essentials, copy, delete.

Carriers are the model's own (the Carriers page manages them); a tech points at them by
TechnologyCarrier rows with the role "in" or "out". What each base tech needs follows
Calliope: its lookups say which base techs may define carrier_in / carrier_out, and a storage
or transmission tech stores / moves one carrier, taken in and given out (so in == out).
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from engage_reflex.models import (
    Carrier,
    Link,
    LinkParameter,
    Node,
    NodeParameter,
    Technology,
    TechnologyCarrier,
    TechParameter,
    Timeseries,
)
from engage_reflex.schemas.techs import TechEditorView, TechSummary, TechUsage
from engage_reflex.services import access, activity
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.scenarios import rename_in_constraints
from engage_reflex.services.access import open_to_visitors
from engage_reflex.services.names import check_calliope_name, check_color, plural

BASE_TECHS = ("supply", "demand", "storage", "conversion", "transmission")
# One line per base tech for the "New technology" dialog.
BASE_TECH_HINTS = {
    "supply": "Brings a carrier into the system from a source (a power plant, a wind farm, a gas import).",
    "demand": "Takes a carrier out of the system to meet a need (electricity or heat demand).",
    "storage": "Stores one carrier and gives it back later (a battery, a hydro reservoir).",
    "conversion": "Turns one carrier into another (a boiler: gas to heat; a heat pump: electricity to heat).",
    "transmission": "Moves one carrier between two locations (a power line, a pipeline); placed as links.",
}
NEEDS = {  # base tech -> (needs input carrier, needs output carrier, in == out)
    "supply": (False, True, False),
    "demand": (True, False, False),
    "storage": (True, True, True),
    "conversion": (True, True, False),
    "transmission": (True, True, True),
}


def _base(tech: Technology) -> str:
    return str(getattr(tech.base_tech, "value", tech.base_tech))


def _label(tech: Technology) -> str:
    return tech.display_name or tech.name



def _tech_in_model(session: Session, model_id: int, tech_id: int) -> Technology:
    tech = session.get(Technology, tech_id)
    if tech is None or tech.model_id != model_id:
        raise NotFound(f"There is no technology with id {tech_id} in this model.")
    return tech


def _carriers_of(session: Session, tech_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    if not tech_ids:
        return {}
    rows = session.exec(
        select(TechnologyCarrier, Carrier).join(Carrier, Carrier.id == TechnologyCarrier.carrier_id)
        .where(TechnologyCarrier.technology_id.in_(tech_ids))
        .order_by(TechnologyCarrier.position, TechnologyCarrier.id)
    ).all()
    out: dict[int, dict[str, list[str]]] = {}
    for link, carrier in rows:
        out.setdefault(link.technology_id, {}).setdefault(link.role, []).append(carrier.name)
    return out


def _counts(session: Session, column, ids: list[int], *, distinct=None) -> dict[int, int]:
    if not ids:
        return {}
    counted = func.count(func.distinct(distinct)) if distinct is not None else func.count()
    rows = session.exec(select(column, counted).where(column.in_(ids)).group_by(column)).all()
    return dict(rows)


def _summaries(session: Session, techs: list[Technology]) -> list[TechSummary]:
    ids = [t.id for t in techs]
    carriers = _carriers_of(session, ids)
    nodes = _counts(session, Node.technology_id, ids)
    links = _counts(session, Link.technology_id, ids)
    params = _counts(session, TechParameter.technology_id, ids, distinct=TechParameter.name)
    return [TechSummary(
        id=t.id, name=t.name, display_name=_label(t), base_tech=_base(t), color=t.color or "",
        description=t.description or "", carriers_in=carriers.get(t.id, {}).get("in", []),
        carriers_out=carriers.get(t.id, {}).get("out", []), node_count=nodes.get(t.id, 0),
        link_count=links.get(t.id, 0), parameter_count=params.get(t.id, 0),
    ) for t in techs]


@open_to_visitors
def list_techs(*, session: Session, user_id: int | None, model_id: int) -> list[TechSummary]:
    """The model's technologies, by base tech (in BASE_TECHS order) then name."""
    access.require_view(session=session, user_id=user_id, model_id=model_id)
    techs = session.exec(select(Technology).where(Technology.model_id == model_id)).all()
    techs = sorted(techs, key=lambda t: (BASE_TECHS.index(_base(t)) if _base(t) in BASE_TECHS else 9,
                                         _label(t).lower()))
    return _summaries(session, techs)


def get_tech(*, session: Session, user_id: int | None, model_id: int, tech_id: int) -> TechSummary:
    access.require_view(session=session, user_id=user_id, model_id=model_id)
    return _summaries(session, [_tech_in_model(session, model_id, tech_id)])[0]


# ------------------------------------------------------------------- validation


def _check_name(session: Session, model_id: int, raw: str, exclude_id: int | None = None) -> str:
    name = check_calliope_name(raw, what="technology")
    clash = session.exec(select(Technology.id).where(Technology.model_id == model_id, Technology.name == name)).first()
    if clash is not None and clash != exclude_id:
        raise EngageError(f"This model already has a technology called “{name}”. Choose another name.")
    if session.exec(select(Link.id).where(Link.model_id == model_id, Link.name == name)).first() is not None:
        raise EngageError(f"“{name}” is already the name of a link in this model (links are technologies in "
                          "Calliope). Choose another name.")
    return name


def _check_display_name(raw: str) -> str:
    text = (raw or "").strip()
    if len(text) > 200:
        raise EngageError("A display name can have at most 200 characters.")
    return text


def _clean_list(values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        v = str(v or "").strip()
        if v and v not in out:
            out.append(v)
    return out


def check_carriers(base_tech: str, carriers_in, carriers_out) -> tuple[list[str], list[str]]:
    """The carriers a base tech gets, or the reason it cannot have these (in planner words)."""
    if base_tech not in BASE_TECHS:
        raise EngageError(f"“{base_tech}” is not one of Calliope's base technologies: {', '.join(BASE_TECHS)}.")
    ins, outs = _clean_list(carriers_in), _clean_list(carriers_out)
    needs_in, needs_out, same = NEEDS[base_tech]
    if same:
        ins, outs = ins or outs, outs or ins
        if not ins:
            what = ("the one it stores (it takes it in and gives it back out)" if base_tech == "storage"
                    else "the one it moves between locations")
            raise EngageError(f"A {base_tech} technology needs a carrier: {what}.")
        if ins != outs:
            raise EngageError(f"A {base_tech} technology takes in and gives out the same carrier; "
                              f"it cannot take in {', '.join(ins)} and give out {', '.join(outs)}.")
    if needs_in and not ins:
        what = "it is what it consumes" if base_tech == "demand" else "it is what it converts"
        raise EngageError(f"A {base_tech} technology needs an input carrier: {what}.")
    if needs_out and not outs:
        what = "it is what it produces" if base_tech == "supply" else "it is what it converts into"
        raise EngageError(f"A {base_tech} technology needs an output carrier: {what}.")
    if not needs_in and ins:
        raise EngageError(f"A {base_tech} technology has no input carrier (Calliope: only transmission, conversion, "
                          f"storage and demand technologies consume a carrier); remove {', '.join(ins)}.")
    if not needs_out and outs:
        raise EngageError(f"A {base_tech} technology has no output carrier (Calliope: only transmission, conversion, "
                          f"storage and supply technologies produce a carrier); remove {', '.join(outs)}.")
    return ins, outs


def _carrier_ids(session: Session, model_id: int, names: list[str]) -> dict[str, int]:
    rows = dict(session.exec(select(Carrier.name, Carrier.id).where(Carrier.model_id == model_id)).all())
    missing = [n for n in names if n not in rows]
    if missing:
        listed = ", ".join(f"“{n}”" for n in missing)
        raise EngageError(f"This model has no carrier {listed}. Add it on the Carriers page first.")
    return {n: rows[n] for n in names}


def _write_carriers(session: Session, tech_id: int, ids: dict[str, int], ins: list[str], outs: list[str]) -> None:
    existing = session.exec(select(TechnologyCarrier).where(TechnologyCarrier.technology_id == tech_id,
                                                            TechnologyCarrier.role.in_(("in", "out")))).all()
    for row in existing:
        session.delete(row)
    session.flush()
    for role, names in (("in", ins), ("out", outs)):
        for position, name in enumerate(names):
            session.add(TechnologyCarrier(technology_id=tech_id, carrier_id=ids[name], role=role, position=position))


# ---------------------------------------------------------------- the services


def create_tech(*, session: Session, user_id: int | None, model_id: int, base_tech: str, name: str,
                display_name: str = "", color: str = "", description: str = "",
                carriers_in=None, carriers_out=None) -> TechSummary:
    """A new technology from one of Calliope's five base techs, with its essentials."""
    model = access.require_edit(session=session, user_id=user_id, model_id=model_id)
    base_tech = (base_tech or "").strip()
    if not base_tech:
        raise EngageError("Choose what kind of technology this is: supply, demand, storage, conversion or "
                          "transmission.")
    name = _check_name(session, model_id, name)
    display = _check_display_name(display_name)
    color = check_color(color)
    ins, outs = check_carriers(base_tech, carriers_in, carriers_out)
    ids = _carrier_ids(session, model_id, [*ins, *outs])
    tech = Technology(model_id=model_id, name=name, display_name=display, base_tech=base_tech, color=color,
                      description=(description or "").strip())
    session.add(tech)
    session.flush()
    _write_carriers(session, tech.id, ids, ins, outs)
    activity.record_change(session=session, model=model, user_id=user_id, action="tech_created",
                           detail=f"Added {base_tech} technology “{display or name}”")
    return _summaries(session, [tech])[0]


def update_tech(*, session: Session, user_id: int | None, model_id: int, tech_id: int, name: str,
                display_name: str = "", color: str = "", description: str = "", base_tech: str | None = None,
                carriers_in=None, carriers_out=None) -> TechSummary:
    """Change a technology's essentials. A new base tech must suit its carriers and placement."""
    model = access.require_edit(session=session, user_id=user_id, model_id=model_id)
    tech = _tech_in_model(session, model_id, tech_id)
    before = _base(tech)
    new_base = (base_tech or before).strip()
    name = _check_name(session, model_id, name, exclude_id=tech.id)
    display = _check_display_name(display_name)
    color = check_color(color)
    ins, outs = check_carriers(new_base, carriers_in, carriers_out)
    ids = _carrier_ids(session, model_id, [*ins, *outs])
    if new_base != before:
        nodes = session.exec(select(func.count()).select_from(Node).where(Node.technology_id == tech.id)).one()
        links = session.exec(select(func.count()).select_from(Link).where(Link.technology_id == tech.id)).one()
        if new_base == "transmission" and nodes:
            raise EngageError(f"“{_label(tech)}” is placed at {plural(nodes, 'location')}; a transmission "
                              "technology is placed as links between two locations instead. Remove it from "
                              "those locations first (Nodes & links).")
        if before == "transmission" and links:
            raise EngageError(f"“{_label(tech)}” is used by {plural(links, 'link')}; only a transmission "
                              "technology can link two locations. Delete those links first (Nodes & links).")
    changes = []
    if name != tech.name:
        changes.append(f"renamed to “{name}”")
        rename_in_constraints(session, model_id=model_id, kind="techs", old=tech.name, new=name)
    if new_base != before:
        changes.append(f"now a {new_base} technology")
    tech.name, tech.display_name, tech.color = name, display, color
    tech.description = (description or "").strip()
    tech.base_tech = new_base
    session.add(tech)
    _write_carriers(session, tech.id, ids, ins, outs)
    session.flush()
    detail = f"Changed technology “{display or name}”" + (f" ({', '.join(changes)})" if changes else "")
    activity.record_change(session=session, model=model, user_id=user_id, action="tech_updated", detail=detail)
    return _summaries(session, [tech])[0]


@open_to_visitors
def tech_usage(*, session: Session, user_id: int | None, model_id: int, tech_id: int) -> TechUsage:
    """What deleting the technology takes with it (asked before deleting)."""
    access.require_view(session=session, user_id=user_id, model_id=model_id)
    tech = _tech_in_model(session, model_id, tech_id)
    nodes = session.exec(select(func.count()).select_from(Node).where(Node.technology_id == tech.id)).one()
    links = session.exec(select(func.count()).select_from(Link).where(Link.technology_id == tech.id)).one()
    if nodes or links:
        parts = []
        if nodes:
            parts.append(f"placed at {plural(nodes, 'location')}")
        if links:
            parts.append(f"used by {plural(links, 'link')}")
        message = f"“{_label(tech)}” is {' and '.join(parts)}; deleting it removes them."
    else:
        message = f"“{_label(tech)}” is not placed anywhere; deleting it removes it and its parameters."
    return TechUsage(tech_id=tech.id, name=_label(tech), node_count=nodes, link_count=links, message=message)


def delete_tech(*, session: Session, user_id: int | None, model_id: int, tech_id: int) -> TechUsage:
    """Delete a technology with its parameters, nodes (and their overrides) and links."""
    model = access.require_edit(session=session, user_id=user_id, model_id=model_id)
    usage = tech_usage(session=session, user_id=user_id, model_id=model_id, tech_id=tech_id)
    tech = session.get(Technology, tech_id)
    # Explicit deletes (besides ON DELETE CASCADE) so the rows go on every database.
    node_ids = list(session.exec(select(Node.id).where(Node.technology_id == tech.id)).all())
    link_ids = list(session.exec(select(Link.id).where(Link.technology_id == tech.id)).all())
    for table, column, ids in ((NodeParameter, NodeParameter.node_id, node_ids),
                               (LinkParameter, LinkParameter.link_id, link_ids)):
        if ids:
            for row in session.exec(select(table).where(column.in_(ids))).all():
                session.delete(row)
    session.flush()
    for row in [*session.exec(select(Node).where(Node.technology_id == tech.id)).all(),
                *session.exec(select(Link).where(Link.technology_id == tech.id)).all(),
                *session.exec(select(TechParameter).where(TechParameter.technology_id == tech.id)).all(),
                *session.exec(select(TechnologyCarrier).where(TechnologyCarrier.technology_id == tech.id)).all()]:
        session.delete(row)
    session.flush()
    session.delete(tech)
    session.flush()
    extra = []
    if usage.node_count:
        extra.append(plural(usage.node_count, "placement"))
    if usage.link_count:
        extra.append(plural(usage.link_count, "link"))
    activity.record_change(session=session, model=model, user_id=user_id, action="tech_deleted",
                           detail=f"Deleted technology “{usage.name}”" + (f" with {' and '.join(extra)}" if extra else ""))
    return usage


def copy_tech(*, session: Session, user_id: int | None, model_id: int, source_tech_id: int,
              name: str | None = None, display_name: str | None = None) -> tuple[TechSummary, str]:
    """Copy a technology (essentials, carriers, parameters) from this model or one the user can view.

    Carriers are matched by name in this model; a missing one is created with the source
    carrier's units and colour (the message says which). Returns (the copy, the message).
    """
    model = access.require_edit(session=session, user_id=user_id, model_id=model_id)
    source = session.get(Technology, source_tech_id)
    if source is None:
        raise NotFound(f"There is no technology with id {source_tech_id}.")
    source_model = access.require_view(session=session, user_id=user_id, model_id=source.model_id)
    same_model = source.model_id == model_id
    if name is None or not str(name).strip():
        name = _free_name(session, model_id, source.name)
    name = _check_name(session, model_id, name)
    display = _check_display_name(display_name if display_name is not None else
                                  (f"{_label(source)} (copy)" if same_model else source.display_name))
    created = []
    carrier_ids: dict[int, int] = {}
    roles = session.exec(select(TechnologyCarrier, Carrier).join(Carrier, Carrier.id == TechnologyCarrier.carrier_id)
                         .where(TechnologyCarrier.technology_id == source.id)).all()
    for link, carrier in roles:
        if same_model:
            carrier_ids[carrier.id] = carrier.id
            continue
        target = session.exec(select(Carrier).where(Carrier.model_id == model_id, Carrier.name == carrier.name)).first()
        if target is None:
            target = Carrier(model_id=model_id, name=carrier.name, rate_unit=carrier.rate_unit,
                             quantity_unit=carrier.quantity_unit, color=carrier.color, description=carrier.description)
            session.add(target)
            session.flush()
            created.append(carrier.name)
        carrier_ids[carrier.id] = target.id
    tech = Technology(model_id=model_id, name=name, display_name=display, base_tech=_base(source),
                      color=source.color, description=source.description)
    session.add(tech)
    session.flush()
    for link, _carrier in roles:
        session.add(TechnologyCarrier(technology_id=tech.id, carrier_id=carrier_ids[link.carrier_id],
                                      role=link.role, position=link.position))
    series_ids: dict[int, int] = {}
    for row in session.exec(select(TechParameter).where(TechParameter.technology_id == source.id)
                            .order_by(TechParameter.id)).all():
        ts_id = row.timeseries_id
        if ts_id is not None and not same_model:
            ts_id = series_ids.get(ts_id) or _copy_series(session, ts_id, model_id, f"{name}:{row.name}")
            series_ids[row.timeseries_id] = ts_id
        session.add(TechParameter(technology_id=tech.id, name=row.name, value=row.value, dims=list(row.dims),
                                  index=list(row.index), index_key=row.index_key, year=row.year,
                                  timeseries_id=ts_id, raw=row.raw))
    session.flush()
    where = "" if same_model else f" from “{source_model.name}”"
    message = f"Copied “{_label(source)}”{where} as “{display or name}”"
    if created:
        message += f"; added the carrier{'s' if len(created) > 1 else ''} {', '.join(created)} to this model"
    activity.record_change(session=session, model=model, user_id=user_id, action="tech_copied", detail=message)
    return _summaries(session, [tech])[0], message


def _free_name(session: Session, model_id: int, base: str) -> str:
    taken = set(session.exec(select(Technology.name).where(Technology.model_id == model_id)).all())
    taken |= set(session.exec(select(Link.name).where(Link.model_id == model_id)).all())
    if base not in taken:
        return base
    i = 2
    while f"{base}_copy{'' if i == 2 else i}" in taken:
        i += 1
    return f"{base}_copy{'' if i == 2 else i}"


def _copy_series(session: Session, ts_id: int, model_id: int, name: str) -> int:
    src = session.get(Timeseries, ts_id)
    taken = set(session.exec(select(Timeseries.name).where(Timeseries.model_id == model_id)).all())
    new_name, i = name[:190], 2
    while new_name in taken:
        new_name, i = f"{name[:185]} ({i})", i + 1
    copy = Timeseries(model_id=model_id, name=new_name, description=src.description, unit=src.unit,
                      source_filename=src.source_filename, start=src.start, end=src.end, length=src.length,
                      data=bytes(src.data))
    session.add(copy)
    session.flush()
    return copy.id


def copyable_models(*, session: Session, user_id: int | None) -> list[tuple[int, str]]:
    """(id, name) of every model the user can view that has technologies (for the copy dialog)."""
    from engage_reflex.services.models import list_models

    return [(m.id, m.name) for m in list_models(session=session, user_id=user_id) if m.technologies]


@open_to_visitors
def carrier_names(*, session: Session, user_id: int | None, model_id: int) -> list[str]:
    """The model's carriers, by name (what a technology's carrier pickers offer)."""
    access.require_view(session=session, user_id=user_id, model_id=model_id)
    return list(session.exec(select(Carrier.name).where(Carrier.model_id == model_id).order_by(Carrier.name)).all())


@open_to_visitors
def tech_editor_view(*, session: Session, user_id: int | None, model_id: int, tech_id: int) -> TechEditorView:
    """A technology's page in one call: essentials, the model's carriers and cost classes, parameters."""
    from engage_reflex.services import parameters, series_params

    tech = get_tech(session=session, user_id=user_id, model_id=model_id, tech_id=tech_id)
    return TechEditorView(
        tech=tech, carriers=carrier_names(session=session, user_id=user_id, model_id=model_id),
        cost_classes=parameters.model_cost_classes(session, model_id),
        rows=parameters.list_tech_parameters(session=session, user_id=user_id, tech_id=tech_id),
        series=series_params.series_choices(session, model_id),
    )
