"""Scenarios: what a run solves. Create, duplicate, rename, delete; which nodes and links are
on; typed settings; group constraints.

A scenario switches nodes and links off with ScenarioNode / ScenarioLink rows (no row: on), keeps
typed settings in `Scenario.settings` keyed by the Calliope path they set (applied on export over
the model's own definition, calliope_io/scenarios._apply_scenario), and group constraints as
ScenarioConstraint rows compiled into custom math on export (services/group_constraints.py).
Calliope overrides kept from an imported model (`Scenario.overrides`) are applied after both.
"""

from __future__ import annotations

import math
import re

from sqlalchemy import delete, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from engage_reflex.models import (
    Carrier,
    EnergyModel,
    Link,
    LinkParameter,
    Location,
    ModelParameter,
    Node,
    NodeParameter,
    Run,
    RunStatus,
    Scenario,
    ScenarioConstraint,
    ScenarioLink,
    ScenarioNode,
    Technology,
    TechnologyCarrier,
    TechParameter,
)
from engage_reflex.schemas.scenarios import (
    ConstraintRow,
    DeletedScenario,
    LinkLine,
    LocationSwitch,
    ScenarioDetail,
    ScenarioSettings,
    ScenarioSummary,
    SwitchChange,
    SwitchRow,
)
from engage_reflex.services import group_constraints
from engage_reflex.services.access import open_to_visitors, require_edit, require_view
from engage_reflex.services.activity import record_change
from engage_reflex.services.names import plural
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.periods import parse_date, parse_resample

NAME_MAX = 120
ROW_LIMIT = 200  # switch rows sent to the page at once; the filter narrows the rest
MODES = {"plan": "base", "operate": "operate", "spores": "spores"}  # planner word -> Calliope's
_FREQUENCY = re.compile(r"^([1-9]\d{0,3})\s*([hHdD])$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The Calliope paths the typed settings write (Scenario.settings keys).
MODE = "config.init.mode"
OPERATE_WINDOW = "config.build.operate.window"
OPERATE_HORIZON = "config.build.operate.horizon"
SPORES_NUMBER = "config.solve.spores.number"
OBJECTIVE_WEIGHTS = "data_definitions.objective_cost_weights"
CYCLIC_STORAGE = "data_definitions.cyclic_storage"
ENSURE_FEASIBILITY = "config.build.ensure_feasibility"
SUBSET = "config.init.subset.timesteps"
RESAMPLE = "config.init.resample.timesteps"
TYPED_PATHS = (MODE, OPERATE_WINDOW, OPERATE_HORIZON, SPORES_NUMBER, OBJECTIVE_WEIGHTS, CYCLIC_STORAGE,
               ENSURE_FEASIBILITY, SUBSET, RESAMPLE)


# ------------------------------------------------------------------ helpers


def _scenario(session: Session, scenario_id: int) -> Scenario:
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"There is no scenario with id {scenario_id}.")
    return scenario


def _viewable(session: Session, user_id: int | None, scenario_id: int) -> tuple[Scenario, EnergyModel]:
    scenario = _scenario(session, scenario_id)
    return scenario, require_view(session=session, user_id=user_id, model_id=scenario.model_id)


def _editable(session: Session, user_id: int | None, scenario_id: int) -> tuple[Scenario, EnergyModel]:
    scenario = _scenario(session, scenario_id)
    return scenario, require_edit(session=session, user_id=user_id, model_id=scenario.model_id)


def _check_name(session: Session, model_id: int, raw: object, exclude: int | None = None) -> str:
    name = "" if raw is None else str(raw).strip()
    if not name:
        raise EngageError("Give the scenario a name.")
    if len(name) > NAME_MAX:
        raise EngageError(f"The scenario name “{name[:30]}…” is {len(name)} characters long; keep it to {NAME_MAX}.")
    if _CONTROL.search(name):
        raise EngageError("The scenario name contains a line break or another invisible character; remove it.")
    stmt = select(Scenario.id).where(Scenario.model_id == model_id, func.lower(Scenario.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(Scenario.id != exclude)
    if session.exec(stmt).first() is not None:
        raise EngageError(f"This model already has a scenario called “{name}”. Choose another name.")
    return name



def _off_counts(session: Session, scenario_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    nodes = dict(session.exec(select(ScenarioNode.scenario_id, func.count())
                              .where(ScenarioNode.scenario_id.in_(scenario_ids), ScenarioNode.active.is_(False))
                              .group_by(ScenarioNode.scenario_id)).all())
    links = dict(session.exec(select(ScenarioLink.scenario_id, func.count())
                              .where(ScenarioLink.scenario_id.in_(scenario_ids), ScenarioLink.active.is_(False))
                              .group_by(ScenarioLink.scenario_id)).all())
    return nodes, links


# ------------------------------------------------------------------ list, create, copy, rename, delete


@open_to_visitors
def list_scenarios(*, session: Session, user_id: int | None, model_id: int) -> list[ScenarioSummary]:
    require_view(session=session, user_id=user_id, model_id=model_id)
    scenarios = session.exec(select(Scenario).where(Scenario.model_id == model_id)
                             .order_by(Scenario.created_at, Scenario.id)).all()
    ids = [s.id for s in scenarios]
    nodes_off, links_off = _off_counts(session, ids)
    constraints = dict(session.exec(select(ScenarioConstraint.scenario_id, func.count())
                                    .where(ScenarioConstraint.scenario_id.in_(ids))
                                    .group_by(ScenarioConstraint.scenario_id)).all())
    runs = dict(session.exec(select(Run.scenario_id, func.count()).where(Run.scenario_id.in_(ids))
                             .group_by(Run.scenario_id)).all())
    return [ScenarioSummary(
        id=s.id, name=s.name, description=s.description or "", nodes_off=nodes_off.get(s.id, 0),
        links_off=links_off.get(s.id, 0), constraints=constraints.get(s.id, 0),
        settings_changed=sum(1 for key in (s.settings or {}) if key in TYPED_PATHS),
        has_imported_overrides=bool(s.overrides), run_count=runs.get(s.id, 0),
    ) for s in scenarios]


def create_scenario(*, session: Session, user_id: int | None, model_id: int, name: str,
                    description: str = "") -> ScenarioSummary:
    """A new scenario: every node and link on, the model's own settings, no constraints."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    scenario = Scenario(model_id=model_id, name=_check_name(session, model_id, name),
                        description=(description or "").strip())
    session.add(scenario)
    session.flush()
    record_change(session=session, model=model, user_id=user_id, action="created scenario", detail=scenario.name)
    return _summary(session, scenario)


def duplicate_scenario(*, session: Session, user_id: int | None, scenario_id: int, name: str) -> ScenarioSummary:
    """A copy of a scenario with everything it sets (switches, settings, overrides, constraints)."""
    source, model = _editable(session, user_id, scenario_id)
    copy = Scenario(model_id=model.id, name=_check_name(session, model.id, name), description=source.description,
                    settings=dict(source.settings or {}), overrides=dict(source.overrides or {}),
                    source_overrides=list(source.source_overrides or []))
    session.add(copy)
    session.flush()
    for row in session.exec(select(ScenarioNode).where(ScenarioNode.scenario_id == source.id)).all():
        session.add(ScenarioNode(scenario_id=copy.id, node_id=row.node_id, active=row.active))
    for row in session.exec(select(ScenarioLink).where(ScenarioLink.scenario_id == source.id)).all():
        session.add(ScenarioLink(scenario_id=copy.id, link_id=row.link_id, active=row.active))
    for row in session.exec(select(ScenarioConstraint).where(ScenarioConstraint.scenario_id == source.id)).all():
        session.add(ScenarioConstraint(scenario_id=copy.id, name=row.name, template=row.template,
                                       params=dict(row.params or {})))
    session.flush()
    record_change(session=session, model=model, user_id=user_id, action="copied scenario",
                  detail=f"{source.name} → {copy.name}")
    return _summary(session, copy)


def rename_scenario(*, session: Session, user_id: int | None, scenario_id: int, name: str,
                    description: str) -> ScenarioSummary:
    scenario, model = _editable(session, user_id, scenario_id)
    old = scenario.name
    scenario.name = _check_name(session, model.id, name, exclude=scenario.id)
    scenario.description = (description or "").strip()
    session.add(scenario)
    session.flush()
    detail = scenario.name if old == scenario.name else f"{old} → {scenario.name}"
    record_change(session=session, model=model, user_id=user_id, action="renamed scenario", detail=detail)
    return _summary(session, scenario)


def delete_scenario(*, session: Session, user_id: int | None, scenario_id: int) -> DeletedScenario:
    """Delete a scenario and its runs. The caller removes `run_folders` after the commit."""
    from engage_reflex.services.models import run_folders

    scenario, model = _editable(session, user_id, scenario_id)
    others = session.exec(select(func.count()).select_from(Scenario)
                          .where(Scenario.model_id == model.id, Scenario.id != scenario.id)).one()
    if not others:
        raise EngageError(f"“{scenario.name}” is the model's only scenario, and a model needs one to run. "
                          "Create another scenario first.")
    active = [s.value for s in (RunStatus.queued, RunStatus.building, RunStatus.solving)]
    running = session.exec(select(func.count()).select_from(Run)
                           .where(Run.scenario_id == scenario.id, Run.status.in_(active))).one()
    if running:
        raise EngageError(f"A run of “{scenario.name}” is still going. Cancel it or let it finish, then delete "
                          "the scenario.")
    folders = run_folders(session, model.id, scenario_id=scenario.id)
    runs = session.exec(select(func.count()).select_from(Run).where(Run.scenario_id == scenario.id)).one()
    for table in (ScenarioNode, ScenarioLink, ScenarioConstraint, Run):
        session.exec(delete(table).where(table.scenario_id == scenario.id))
    name = scenario.name
    session.delete(scenario)
    session.flush()
    record_change(session=session, model=model, user_id=user_id, action="deleted scenario",
                  detail=name + (f" and {plural(runs, 'run')}" if runs else ""))
    return DeletedScenario(id=scenario_id, name=name, runs_deleted=runs, run_folders=tuple(folders))


def _summary(session: Session, scenario: Scenario) -> ScenarioSummary:
    nodes_off, links_off = _off_counts(session, [scenario.id])
    constraints = session.exec(select(func.count()).select_from(ScenarioConstraint)
                               .where(ScenarioConstraint.scenario_id == scenario.id)).one()
    runs = session.exec(select(func.count()).select_from(Run).where(Run.scenario_id == scenario.id)).one()
    return ScenarioSummary(
        id=scenario.id, name=scenario.name, description=scenario.description or "",
        nodes_off=nodes_off.get(scenario.id, 0), links_off=links_off.get(scenario.id, 0), constraints=constraints,
        settings_changed=sum(1 for key in (scenario.settings or {}) if key in TYPED_PATHS),
        has_imported_overrides=bool(scenario.overrides), run_count=runs)


# ------------------------------------------------------------------ nodes and links on or off


def _all_rows(session: Session, scenario: Scenario) -> list[SwitchRow]:
    """Every node and link of the model, with the scenario's switch (no row: on)."""
    off_nodes = set(session.exec(select(ScenarioNode.node_id).where(
        ScenarioNode.scenario_id == scenario.id, ScenarioNode.active.is_(False))).all())
    off_links = set(session.exec(select(ScenarioLink.link_id).where(
        ScenarioLink.scenario_id == scenario.id, ScenarioLink.active.is_(False))).all())
    rows = [SwitchRow(id=node_id, kind="node", location=location, tech=tech, base_tech=_base(base),
                      active=node_id not in off_nodes)
            for node_id, location, tech, base in session.exec(
                select(Node.id, Location.name, Technology.name, Technology.base_tech)
                .join(Location, Location.id == Node.location_id).join(Technology, Technology.id == Node.technology_id)
                .where(Node.model_id == scenario.model_id).order_by(Location.name, Technology.name)).all()]
    a, b = aliased(Location), aliased(Location)
    rows += [SwitchRow(id=link_id, kind="link", location=f"{start} → {end}", tech=f"{name} ({tech})",
                       base_tech="transmission", active=link_id not in off_links)
             for link_id, name, tech, start, end in session.exec(
                 select(Link.id, Link.name, Technology.name, a.name, b.name)
                 .join(Technology, Technology.id == Link.technology_id)
                 .join(a, a.id == Link.from_location_id).join(b, b.id == Link.to_location_id)
                 .where(Link.model_id == scenario.model_id).order_by(Link.name)).all()]
    return rows


def _base(value) -> str:
    return str(getattr(value, "value", value))


def _matches(row: SwitchRow, location: str, tech: str, base_tech: str, state: str) -> bool:
    location, tech = (location or "").strip().lower(), (tech or "").strip().lower()
    return ((not location or location in row.location.lower())
            and (not tech or tech in row.tech.lower())
            and (not base_tech or row.base_tech == base_tech)
            and (state not in ("on", "off") or row.active == (state == "on")))


def _apply_switch(session: Session, scenario: Scenario, rows: list[SwitchRow], active: bool) -> int:
    """Switch rows on (no row) or off (a row with active=False); how many changed."""
    changing = [r for r in rows if r.active != active]
    for kind, table, column in (("node", ScenarioNode, ScenarioNode.node_id),
                                ("link", ScenarioLink, ScenarioLink.link_id)):
        ids = [r.id for r in changing if r.kind == kind]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            session.exec(delete(table).where(table.scenario_id == scenario.id, column.in_(chunk)))
            if not active:
                key = "node_id" if kind == "node" else "link_id"
                session.add_all([table(scenario_id=scenario.id, active=False, **{key: i}) for i in chunk])
    session.flush()
    return len(changing)


def _switched(session: Session, user_id, scenario: Scenario, model: EnergyModel, rows: list[SwitchRow],
              active: bool, what: str) -> SwitchChange:
    changed = _apply_switch(session, scenario, rows, active)
    state = "on" if active else "off"
    if not changed:
        return SwitchChange(changed=0, active=active, message=f"{what.capitalize()} already {state}: nothing changed.")
    record_change(session=session, model=model, user_id=user_id, action=f"switched {state} in scenario",
                  detail=f"{scenario.name}: {what}")
    return SwitchChange(changed=changed, active=active,
                        message=f"Switched {state} {plural(changed, 'node or link', 'nodes and links')} "
                                f"in “{scenario.name}”.")


def switch_rows(*, session: Session, user_id: int | None, scenario_id: int, kind: str, ids: list[int],
                active: bool) -> SwitchChange:
    """Switch the given nodes (kind "node") or links ("link") on or off in the scenario."""
    scenario, model = _editable(session, user_id, scenario_id)
    wanted = {int(i) for i in ids}
    rows = [r for r in _all_rows(session, scenario) if r.kind == kind and r.id in wanted]
    if len(rows) != len(wanted):
        raise NotFound("Some of these nodes or links are no longer in the model. Reload the page.")
    what = ", ".join(f"{r.tech} at {r.location}" if r.kind == "node" else r.tech for r in rows[:3])
    return _switched(session, user_id, scenario, model, rows, active, what + (" …" if len(rows) > 3 else ""))


def switch_filtered(*, session: Session, user_id: int | None, scenario_id: int, location_filter: str = "",
                    tech_filter: str = "", base_tech: str = "", state: str = "", active: bool) -> SwitchChange:
    """Switch every node and link matching the filter (the same filter as scenario_detail)."""
    scenario, model = _editable(session, user_id, scenario_id)
    rows = [r for r in _all_rows(session, scenario) if _matches(r, location_filter, tech_filter, base_tech, state)]
    if not rows:
        raise EngageError("No node or link matches the filter, so nothing was switched.")
    return _switched(session, user_id, scenario, model, rows, active, plural(len(rows), "filtered row"))


def switch_location(*, session: Session, user_id: int | None, scenario_id: int, location_id: int,
                    active: bool) -> SwitchChange:
    """Switch everything at a location (its nodes and the links that touch it), e.g. from the map."""
    scenario, model = _editable(session, user_id, scenario_id)
    location = session.get(Location, location_id)
    if location is None or location.model_id != model.id:
        raise NotFound("This location is no longer in the model. Reload the page.")
    node_ids = set(session.exec(select(Node.id).where(Node.location_id == location.id)).all())
    link_ids = set(session.exec(select(Link.id).where(
        or_(Link.from_location_id == location.id, Link.to_location_id == location.id))).all())
    rows = [r for r in _all_rows(session, scenario)
            if (r.kind == "node" and r.id in node_ids) or (r.kind == "link" and r.id in link_ids)]
    if not rows:
        raise EngageError(f"Nothing is placed at {location.name} yet, so there is nothing to switch.")
    return _switched(session, user_id, scenario, model, rows, active, f"everything at {location.name}")


# ------------------------------------------------------------------ the scenario page


@open_to_visitors
def scenario_detail(*, session: Session, user_id: int | None, scenario_id: int, location_filter: str = "",
                    tech_filter: str = "", base_tech: str = "", state: str = "",
                    row_limit: int = ROW_LIMIT) -> ScenarioDetail:
    scenario, model = _viewable(session, user_id, scenario_id)
    rows = _all_rows(session, scenario)
    matching = [r for r in rows if _matches(r, location_filter, tech_filter, base_tech, state)]
    nodes = [r for r in rows if r.kind == "node"]
    links = [r for r in rows if r.kind == "link"]
    vocabulary = model_vocabulary(session, model.id)
    return ScenarioDetail(
        id=scenario.id, model_id=model.id, name=scenario.name, description=scenario.description or "",
        settings=_settings(session, scenario, model), cost_classes=vocabulary.cost_classes,
        rows=matching[:max(1, min(row_limit, 1000))], matching=len(matching),
        nodes_total=len(nodes), nodes_off=sum(not r.active for r in nodes),
        links_total=len(links), links_off=sum(not r.active for r in links),
        constraints=_constraint_rows(session, scenario, vocabulary),
        imported_overrides=list(scenario.source_overrides or []) if scenario.overrides else [],
        locations=_location_switches(session, scenario, rows), link_lines=_link_lines(session, scenario, rows),
        techs=sorted(vocabulary.techs), location_names=list(vocabulary.locations), carriers=list(vocabulary.carriers),
        supply_techs=sorted(t for t, base in vocabulary.techs.items() if base in ("supply", "storage", "conversion")),
    )


def _location_switches(session: Session, scenario: Scenario, rows: list[SwitchRow]) -> list[LocationSwitch]:
    node_location = dict(session.exec(select(Node.id, Node.location_id)
                                      .where(Node.model_id == scenario.model_id)).all())
    counts: dict[int, list[int]] = {}
    for row in rows:
        if row.kind == "node":
            on_total = counts.setdefault(node_location[row.id], [0, 0])
            on_total[0] += row.active
            on_total[1] += 1
    return [LocationSwitch(id=loc.id, name=loc.name, lat=loc.latitude, lon=loc.longitude,
                           on=counts.get(loc.id, [0, 0])[0], total=counts.get(loc.id, [0, 0])[1])
            for loc in session.exec(select(Location).where(Location.model_id == scenario.model_id)
                                    .order_by(Location.name)).all()]


def _link_lines(session: Session, scenario: Scenario, rows: list[SwitchRow]) -> list[LinkLine]:
    active = {r.id: r.active for r in rows if r.kind == "link"}
    a, b = aliased(Location), aliased(Location)
    return [LinkLine(id=link_id, name=name, start=[a_lat, a_lon], end=[b_lat, b_lon], active=active.get(link_id, True))
            for link_id, name, a_lat, a_lon, b_lat, b_lon in session.exec(
                select(Link.id, Link.name, a.latitude, a.longitude, b.latitude, b.longitude)
                .join(a, a.id == Link.from_location_id).join(b, b.id == Link.to_location_id)
                .where(Link.model_id == scenario.model_id)).all()
            if None not in (a_lat, a_lon, b_lat, b_lon)]


# ------------------------------------------------------------------ typed settings


def _lookup(tree: dict, path: str):
    node = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _model_value(session: Session, model: EnergyModel, path: str):
    """The model's own value for a settings path (before any scenario), or None."""
    if path.startswith("config."):
        return _lookup(model.calliope_config or {}, path.removeprefix("config."))
    name = path.removeprefix("data_definitions.")
    rows = session.exec(select(ModelParameter).where(ModelParameter.model_id == model.id,
                                                     ModelParameter.name == name)).all()
    if not rows:
        return None
    if name == "objective_cost_weights":
        return {"data": [r.value for r in rows], "index": [list(r.index) for r in rows], "dims": ["costs"]}
    return rows[0].value


def _without_typed(session: Session, scenario: Scenario, model: EnergyModel, path: str):
    """What the scenario would run with for `path` if it did not set it itself."""
    imported = _lookup(scenario.overrides or {}, path)
    return imported if imported is not None else _model_value(session, model, path)


def _weights(value) -> dict[str, str]:
    """{cost class: weight text} from a Calliope objective_cost_weights value."""
    if not isinstance(value, dict):
        return {}
    data, index = value.get("data"), value.get("index") or []
    data = data if isinstance(data, list) else [data] * len(index)
    out = {}
    for item, weight in zip(index, data, strict=False):
        key = item[0] if isinstance(item, list) and item else item
        out[str(key)] = _number_text(weight)
    return out


def _number_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _settings(session: Session, scenario: Scenario, model: EnergyModel) -> ScenarioSettings:
    def value(path, default):
        own = (scenario.settings or {}).get(path)
        found = own if own is not None else _without_typed(session, scenario, model, path)
        return default if found is None else found

    mode = {v: k for k, v in MODES.items()}.get(str(value(MODE, "base")), "plan")
    subset = value(SUBSET, [])
    subset = [str(s)[:10] for s in subset] if isinstance(subset, list) and len(subset) == 2 else ["", ""]
    return ScenarioSettings(
        mode=mode, operate_window=str(value(OPERATE_WINDOW, "24h")), operate_horizon=str(value(OPERATE_HORIZON, "48h")),
        spores_number=int(value(SPORES_NUMBER, 3)), objective_weights=_weights(value(OBJECTIVE_WEIGHTS, {})),
        cyclic_storage=bool(value(CYCLIC_STORAGE, True)), ensure_feasibility=bool(value(ENSURE_FEASIBILITY, False)),
        subset_start=subset[0], subset_end=subset[1], resample=str(value(RESAMPLE, "") or ""),
    )


def _frequency(text: str, label: str) -> str:
    m = _FREQUENCY.match((text or "").strip())
    if not m:
        raise EngageError(f"The {label} “{text}” is not a length of time. Use hours or days such as 24h, 48h or 2D.")
    return f"{int(m[1])}{'h' if m[2] in 'hH' else 'D'}"


def _hours(frequency: str) -> int:
    return int(frequency[:-1]) * (24 if frequency.endswith("D") else 1)


def _parse_weights(weights: dict[str, str], classes: list[str]) -> dict | None:
    if not weights:
        return None
    index, data = [], []
    for cost_class, text in sorted(weights.items()):
        if cost_class not in classes:
            raise EngageError(f"“{cost_class}” is not a cost class of this model (it has: {', '.join(classes)}).")
        try:
            weight = float(str(text).strip())
        except ValueError:
            raise EngageError(f"The weight of {cost_class} “{text}” is not a number.") from None
        if not math.isfinite(weight) or weight < 0:
            raise EngageError(f"The weight of {cost_class} must be a number of 0 or more (it is “{text}”).")
        index.append([cost_class])
        data.append(weight)
    if not any(data):
        raise EngageError("At least one cost class needs a weight above 0, or there is nothing to minimise.")
    return {"data": data, "index": index, "dims": ["costs"]}


def update_settings(*, session: Session, user_id: int | None, scenario_id: int, mode: str = "plan",
                    operate_window: str = "24h", operate_horizon: str = "48h", spores_number: int | str = 3,
                    objective_weights: dict[str, str] | None = None, cyclic_storage: bool = True,
                    ensure_feasibility: bool = False, subset_start: str = "", subset_end: str = "",
                    resample: str = "") -> ScenarioSettings:
    """Check and store the typed settings; a value equal to the model's own is not stored."""
    scenario, model = _editable(session, user_id, scenario_id)
    if mode not in MODES:
        raise EngageError(f"“{mode}” is not a mode. Choose plan, operate or spores.")
    wanted: dict[str, object] = {MODE: MODES[mode], ENSURE_FEASIBILITY: bool(ensure_feasibility),
                                 CYCLIC_STORAGE: bool(cyclic_storage)}
    if mode == "operate":
        window, horizon = _frequency(operate_window, "window"), _frequency(operate_horizon, "horizon")
        if _hours(horizon) < _hours(window):
            raise EngageError(f"The horizon ({horizon}) must be at least as long as the window ({window}).")
        wanted.update({OPERATE_WINDOW: window, OPERATE_HORIZON: horizon})
    if mode == "spores":
        try:
            number = int(str(spores_number).strip())
        except ValueError:
            raise EngageError(f"The number of SPORES “{spores_number}” is not a whole number.") from None
        if not 1 <= number <= 100:
            raise EngageError("The number of SPORES must be between 1 and 100.")
        wanted[SPORES_NUMBER] = number
    weights = _parse_weights(objective_weights or {}, model_vocabulary(session, model.id).cost_classes)
    if weights is not None:
        wanted[OBJECTIVE_WEIGHTS] = weights
    start_text, end_text = (subset_start or "").strip(), (subset_end or "").strip()
    if start_text or end_text:
        if not (start_text and end_text):
            raise EngageError("Give both a first and a last day for the scenario's period, or leave both empty.")
        start, end = parse_date(start_text, "first"), parse_date(end_text, "last")
        if start > end:
            raise EngageError(f"The first day {start} is after the last day {end}.")
        wanted[SUBSET] = [start.isoformat(), end.isoformat()]
    chosen_resample = parse_resample(resample)
    if chosen_resample:
        wanted[RESAMPLE] = chosen_resample
    kept = {k: v for k, v in (scenario.settings or {}).items() if k not in TYPED_PATHS}
    for path, value in wanted.items():
        if _same(value, _without_typed(session, scenario, model, path), path):
            continue
        kept[path] = value
    if path_removed := [p for p in (SUBSET, RESAMPLE) if p not in wanted and _without_typed(
            session, scenario, model, p) is not None]:
        # The model (or an imported override) sets a period/resolution the planner cleared.
        kept.update({p: None for p in path_removed})
    changed = kept != (scenario.settings or {})
    scenario.settings = kept
    session.add(scenario)
    session.flush()
    if changed:
        record_change(session=session, model=model, user_id=user_id, action="changed scenario settings",
                      detail=scenario.name)
    return _settings(session, scenario, model)


_DEFAULTS = {MODE: "base", ENSURE_FEASIBILITY: False, CYCLIC_STORAGE: True, OPERATE_WINDOW: "24h",
             OPERATE_HORIZON: "48h", SPORES_NUMBER: 3}


def _same(value, current, path: str) -> bool:
    current = _DEFAULTS.get(path) if current is None else current
    if path == OBJECTIVE_WEIGHTS:
        return _weights(value) == _weights(current) if current else all(float(w) == 1 for w in _weights(value).values())
    if path == SUBSET and isinstance(current, list):
        return [str(c)[:10] for c in current] == value
    return value == current


# ------------------------------------------------------------------ group constraints


def model_vocabulary(session: Session, model_id: int) -> group_constraints.ModelVocabulary:
    """The names a group constraint may use: techs (with base tech and carriers), locations,
    carriers and the cost classes the model's cost parameters use."""
    techs = session.exec(select(Technology).where(Technology.model_id == model_id)).all()
    carriers = dict(session.exec(select(Carrier.id, Carrier.name).where(Carrier.model_id == model_id)).all())
    outs: dict[str, list[str]] = {t.name: [] for t in techs}
    ins: dict[str, list[str]] = {t.name: [] for t in techs}
    names = {t.id: t.name for t in techs}
    for tech_id, carrier_id, role in session.exec(
            select(TechnologyCarrier.technology_id, TechnologyCarrier.carrier_id, TechnologyCarrier.role)
            .where(TechnologyCarrier.technology_id.in_(list(names)))).all():
        target = outs if role == "out" else ins if role == "in" else None
        if target is not None and carrier_id in carriers:
            target[names[tech_id]].append(carriers[carrier_id])
    classes: set[str] = set()
    for table, owner in ((TechParameter, TechParameter.technology_id.in_(list(names))),
                         (ModelParameter, ModelParameter.model_id == model_id),
                         (NodeParameter, NodeParameter.node_id.in_(select(Node.id).where(Node.model_id == model_id))),
                         (LinkParameter, LinkParameter.link_id.in_(select(Link.id).where(Link.model_id == model_id)))):
        for dims, index in session.exec(select(table.dims, table.index).where(owner)).all():
            if dims and "costs" in dims and index:
                classes.add(str(index[list(dims).index("costs")]))
    locations = session.exec(select(Location.name).where(Location.model_id == model_id).order_by(Location.name)).all()
    return group_constraints.ModelVocabulary(
        techs={t.name: _base(t.base_tech) for t in techs}, tech_carriers_out=outs, tech_carriers_in=ins,
        locations=list(locations), carriers=sorted(carriers.values()), cost_classes=sorted(classes or {"monetary"}))


def _constraint_rows(session: Session, scenario: Scenario,
                     vocabulary: group_constraints.ModelVocabulary) -> list[ConstraintRow]:
    rows = []
    placed = {(r.location, r.tech) for r in _all_rows(session, scenario) if r.kind == "node" and r.active}
    for row in session.exec(select(ScenarioConstraint).where(ScenarioConstraint.scenario_id == scenario.id)
                            .order_by(ScenarioConstraint.created_at, ScenarioConstraint.id)).all():
        template = group_constraints.TEMPLATES.get(row.template)
        try:
            group_constraints.check_params(template=row.template, params=dict(row.params or {}), vocabulary=vocabulary)
            problem = ""
        except EngageError as exc:
            problem = exc.message
        if not problem and template is not None:
            problem = _matches_nothing(row.params or {}, placed)
        summary = group_constraints.describe(template=row.template, params=dict(row.params or {})) if template else ""
        rows.append(ConstraintRow(id=row.id, name=row.name, template=row.template,
                                  title=template.title if template else row.template, summary=summary,
                                  params=dict(row.params or {}), problem=problem))
    return rows


def _matches_nothing(params: dict, placed: set[tuple[str, str]]) -> str:
    """Why a constraint would do nothing in this scenario ("" if it applies somewhere)."""
    techs, locations = params.get("techs") or [], params.get("locations") or []
    if not techs:
        return ""
    if any(tech in techs and (not locations or location in locations) for location, tech in placed):
        return ""
    where = f" at {', '.join(locations)}" if locations else ""
    return (f"None of {', '.join(techs)} is on{where} in this scenario, so this constraint does nothing. "
            "Place them on the Nodes & links page or switch them on here.")


def _check_constraint_name(session: Session, scenario: Scenario, raw: object, exclude: int | None = None) -> str:
    name = "" if raw is None else str(raw).strip()
    if not name:
        raise EngageError("Give the constraint a name, e.g. “max_wind_north”.")
    if len(name) > NAME_MAX or _CONTROL.search(name):
        raise EngageError(f"Keep the constraint name to one line of at most {NAME_MAX} characters.")
    stmt = select(ScenarioConstraint.id).where(ScenarioConstraint.scenario_id == scenario.id,
                                               func.lower(ScenarioConstraint.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(ScenarioConstraint.id != exclude)
    if session.exec(stmt).first() is not None:
        raise EngageError(f"“{scenario.name}” already has a constraint called “{name}”. Choose another name.")
    return name


def add_constraint(*, session: Session, user_id: int | None, scenario_id: int, name: str, template: str,
                   params: dict) -> ConstraintRow:
    scenario, model = _editable(session, user_id, scenario_id)
    vocabulary = model_vocabulary(session, model.id)
    checked = group_constraints.check_params(template=template, params=dict(params or {}), vocabulary=vocabulary)
    row = ScenarioConstraint(scenario_id=scenario.id, name=_check_constraint_name(session, scenario, name),
                             template=template, params=checked)
    session.add(row)
    session.flush()
    record_change(session=session, model=model, user_id=user_id, action="added a group constraint",
                  detail=f"{scenario.name}: {row.name}")
    return next(r for r in _constraint_rows(session, scenario, vocabulary) if r.id == row.id)


def update_constraint(*, session: Session, user_id: int | None, constraint_id: int, name: str,
                      params: dict) -> ConstraintRow:
    row = session.get(ScenarioConstraint, constraint_id)
    if row is None:
        raise NotFound("This constraint is no longer in the scenario. Reload the page.")
    scenario, model = _editable(session, user_id, row.scenario_id)
    vocabulary = model_vocabulary(session, model.id)
    row.params = group_constraints.check_params(template=row.template, params=dict(params or {}),
                                                vocabulary=vocabulary)
    row.name = _check_constraint_name(session, scenario, name, exclude=row.id)
    session.add(row)
    session.flush()
    record_change(session=session, model=model, user_id=user_id, action="changed a group constraint",
                  detail=f"{scenario.name}: {row.name}")
    return next(r for r in _constraint_rows(session, scenario, vocabulary) if r.id == row.id)


def delete_constraint(*, session: Session, user_id: int | None, constraint_id: int) -> str:
    row = session.get(ScenarioConstraint, constraint_id)
    if row is None:
        raise NotFound("This constraint is no longer in the scenario. Reload the page.")
    scenario, model = _editable(session, user_id, row.scenario_id)
    name = row.name
    session.delete(row)
    session.flush()
    record_change(session=session, model=model, user_id=user_id, action="removed a group constraint",
                  detail=f"{scenario.name}: {name}")
    return f"Removed the constraint “{name}” from “{scenario.name}”."


def constraints_for_export(session: Session, scenario: Scenario) -> list[tuple[str, str, dict]]:
    """The scenario's constraints, checked against the model as it is now (for the exporter)."""
    rows = session.exec(select(ScenarioConstraint).where(ScenarioConstraint.scenario_id == scenario.id)
                        .order_by(ScenarioConstraint.created_at, ScenarioConstraint.id)).all()
    if not rows:
        return []
    vocabulary = model_vocabulary(session, scenario.model_id)
    out = []
    for row in rows:
        try:
            params = group_constraints.check_params(template=row.template, params=dict(row.params or {}),
                                                    vocabulary=vocabulary)
        except EngageError as exc:
            raise EngageError(f"The group constraint “{row.name}” of scenario “{scenario.name}” no longer fits "
                              f"the model: {exc.message} Change or remove it on the Scenarios page.") from None
        out.append((row.name, row.template, params))
    return out


def rename_in_constraints(session: Session, *, model_id: int, kind: str, old: str, new: str) -> None:
    """A tech, location or carrier was renamed (`kind` "techs", "locations" or "carrier"): the group
    constraints that name it follow, as the model's own rows do (no flush: the caller's edit does)."""
    if old == new:
        return
    rows = session.exec(select(ScenarioConstraint).join(Scenario, Scenario.id == ScenarioConstraint.scenario_id)
                        .where(Scenario.model_id == model_id)).all()
    for row in rows:
        template = group_constraints.TEMPLATES.get(row.template)
        if template is None:
            continue
        params = dict(row.params or {})
        for field in template.fields:
            value = params.get(field.key)
            if field.kind != kind or value is None:
                continue
            params[field.key] = [new if v == old else v for v in value] if isinstance(value, list) else \
                (new if value == old else value)
        if params != row.params:
            row.params = params
            session.add(row)
