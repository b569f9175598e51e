"""Pre-run model check (the first version of the "model doctor").

It reads the scenario exactly as a run would solve it (`calliope_io.export_scenario`: the
base model, the scenario's overrides and the data tables) and reports what makes the
results meaningless even if the solver says "optimal": a demand that nothing can supply,
a technology without carriers, no costs in the objective, technologies at no node, nodes
with nothing at them, a scenario that switches every supply off, time series that do not
cover the run period. Findings are advice: a run can still be started.

It does not build a Calliope model (that takes seconds); it reads the definition and its
data tables only, so the run form can check every time the planner picks a scenario.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlmodel import Session

from engage_reflex.models import EnergyModel, Scenario
from engage_reflex.schemas import CalliopeReadView, ModelCheckView, ModelFinding
from engage_reflex.services import access
from engage_reflex.services.calliope_io.exporter import ModelDefinition, export_scenario
from engage_reflex.services.calliope_io.values import BASE_SCENARIO
from engage_reflex.services.errors import EngageError, NotFound

WARNING = "warning"
INFO = "info"

# Parameters named cost_* that are rates or fractions, not costs of their own.
NOT_A_COST = {"cost_interest_rate", "cost_depreciation_rate", "cost_om_annual_investment_fraction"}
SINK_PARAMS = ("sink_use_equals", "sink_use_max", "sink_use_min")
REQUIRED_CARRIERS = {
    "supply": ("carrier_out",),
    "demand": ("carrier_in",),
    "conversion": ("carrier_in", "carrier_out"),
    "storage": ("carrier_in", "carrier_out"),
    "transmission": ("carrier_in", "carrier_out"),
}
MAX_NAMES = 4  # how many names a message lists before "and N more"
# Where in the model editor each finding is fixed (components/editor.py AREAS keys).
FINDING_AREAS = {
    "tech_without_carrier": "techs", "no_supply": "techs", "carrier_not_produced": "techs",
    "carrier_not_used": "techs", "demand_without_values": "techs", "no_costs": "techs",
    "costs_not_in_objective": "techs",
    "tech_not_at_node": "nodes", "unknown_tech_at_node": "nodes", "node_without_techs": "nodes",
    "demand_without_supply": "nodes", "all_supply_off": "nodes", "link_same_location": "nodes",
    "bad_period": "runs", "period_outside_data": "runs", "period_beyond_data": "runs",
    "no_timeseries": "runs", "timeseries_short": "runs",
}
CALLIOPE_CHECK_TTL_S = 600


# ------------------------------------------------------------------------ service


def check_scenario(*, session: Session, user_id: int | None, scenario_id: int,
                   subset_start: str | None = None, subset_end: str | None = None) -> ModelCheckView:
    """Check a scenario the user may view, for the given run period (or the scenario's own)."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"There is no scenario with id {scenario_id}.")
    model = access.require_view(session=session, user_id=user_id, model_id=scenario.model_id)
    return _check(session, model, scenario, subset_start, subset_end)


def check_scenario_from_cli(*, model: str, scenario: str, start: str | None = None,
                            end: str | None = None) -> ModelCheckView:
    """`engage check`: model and scenario by id or name, like `engage export`."""
    from engage_reflex.db import session_scope
    from engage_reflex.services.calliope_io.cli import _model_by_id_or_name, _scenario_by_id_or_name

    with session_scope() as session:
        model_row = _model_by_id_or_name(session, str(model))
        scenario_row = _scenario_by_id_or_name(session, model_row, str(scenario))
        return _check(session, model_row, scenario_row, start, end)


def _check(session: Session, model: EnergyModel, scenario: Scenario,
           start: str | None, end: str | None) -> ModelCheckView:
    start, end = (start or "").strip(), (end or "").strip()
    if bool(start) != bool(end):
        raise EngageError("Give both a start date and an end date, or neither.")
    exported = export_scenario(session=session, scenario_id=scenario.id,
                               subset=(start, end) if start else None)
    findings, period = check_definition(exported, scenario_name=scenario.name)
    return ModelCheckView(model_id=model.id, model_name=model.name, scenario_id=scenario.id,
                          scenario_name=scenario.name, findings=findings,
                          period_start=period[0], period_end=period[1])


def check_definition(exported: ModelDefinition, *, scenario_name: str = BASE_SCENARIO
                     ) -> tuple[list[ModelFinding], tuple[str, str]]:
    """The findings for an exported definition (warnings first) and the run period read."""
    doctor = _Doctor(exported, scenario_name)
    doctor.run()
    order = {WARNING: 0, INFO: 1}
    findings = sorted(doctor.findings, key=lambda f: order[f.severity])  # stable: check order kept
    return findings, doctor.period_text


# ------------------------------------------------------------------------ Calliope's own read


def start_model_check(*, session: Session, user_id: int | None, model_id: int,
                      scenario_id: int | None = None) -> tuple[ModelCheckView, str]:
    """"Check model": the findings for a scenario (the base one unless named) and the id of the
    Calliope read job queued for it (see calliope_read_result)."""
    from sqlmodel import select

    access.require_view(session=session, user_id=user_id, model_id=model_id)
    scenarios = session.exec(select(Scenario).where(Scenario.model_id == model_id).order_by(Scenario.id)).all()
    if scenario_id is not None:
        scenarios = [s for s in scenarios if s.id == scenario_id]
        if not scenarios:
            raise NotFound(f"This model has no scenario with id {scenario_id}.")
    if not scenarios:
        raise EngageError("This model has no scenario to check. Every model needs at least the “base” scenario.")
    scenario = next((s for s in scenarios if s.name == BASE_SCENARIO), scenarios[0])
    view = check_scenario(session=session, user_id=user_id, scenario_id=scenario.id)
    return view, request_calliope_read(session=session, user_id=user_id, scenario_id=scenario.id)


def request_calliope_read(*, session: Session, user_id: int | None, scenario_id: int) -> str:
    """Queue a job that reads the scenario with Calliope (no solve); returns the job id to ask about.

    Reading takes seconds and needs calliope, which the workers hold already imported; the
    web app stays light. The id is random, so only the asker can read the answer."""
    import uuid

    from engage_reflex.services import queue as jobqueue

    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"There is no scenario with id {scenario_id}.")
    access.require_view(session=session, user_id=user_id, model_id=scenario.model_id)
    job_id = f"check-{scenario_id}-{uuid.uuid4().hex}"
    try:
        jobqueue.queue("short").enqueue(
            "jobs.checks.read_scenario", scenario_id, job_id=job_id, job_timeout=jobqueue.job_timeout("short"),
            result_ttl=CALLIOPE_CHECK_TTL_S, failure_ttl=CALLIOPE_CHECK_TTL_S, description=f"check scenario {scenario_id}")
    except Exception as exc:  # redis down or refusing: say so instead of a traceback
        raise EngageError("The check could not be queued: the job queue does not answer. "
                          "Please try again in a minute.") from exc
    return job_id


def calliope_read_result(job_id: str) -> CalliopeReadView:
    """The answer of a `request_calliope_read` job (done=False while it waits or works)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from engage_reflex.services import queue as jobqueue

    if not job_id.startswith("check-"):
        raise NotFound("There is no such check.")
    try:
        job = Job.fetch(job_id, connection=jobqueue.redis_connection())
    except NoSuchJobError:
        raise NotFound("This check is no longer known; please check again.") from None
    status = getattr(job.get_status(refresh=False), "value", job.get_status(refresh=False))
    if status == "finished":
        answer = job.return_value() or {}
        return CalliopeReadView(done=True, ok=bool(answer.get("ok")), problem=str(answer.get("problem") or ""),
                                seconds=float(answer.get("seconds") or 0.0))
    if status in ("failed", "stopped", "canceled"):
        return CalliopeReadView(done=True, ok=False,
                                problem="The check stopped before Calliope gave an answer. Please try again.")
    return CalliopeReadView(done=False)


# ------------------------------------------------------------------------ helpers


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _data_items(value: Any) -> list[Any]:
    """The data items of a scalar or indexed value (`{data, index, dims}`)."""
    if isinstance(value, dict):
        data = value.get("data")
        return list(data) if isinstance(data, list | tuple) else [data]
    return [value]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    return None


def _all_zero(value: Any) -> bool:
    """True when a value is given and every one of its numbers is 0."""
    if value is None:
        return False
    numbers = [_number(v) for v in _data_items(value)]
    return bool(numbers) and all(n == 0 for n in numbers)


def _has_nonzero(value: Any) -> bool:
    return any(n not in (None, 0) for n in (_number(v) for v in _data_items(value)))


def _cost_classes(value: Any) -> set[str | None]:
    """The cost classes a cost value uses (None: a value without a `costs` dimension)."""
    if not isinstance(value, dict) or "costs" not in _as_list(value.get("dims")):
        return {None} if _has_nonzero(value) else set()
    position = _as_list(value.get("dims")).index("costs")
    data = value.get("data")
    index = value.get("index") or []
    items = list(data) if isinstance(data, list | tuple) else [data] * len(index)
    out: set[str | None] = set()
    for item, key in zip(items, index):
        key = key if isinstance(key, list | tuple) else [key]
        if _number(item) not in (None, 0) and position < len(key):
            out.add(str(key[position]))
    return out


def _names(items: Iterable[str]) -> str:
    items = list(dict.fromkeys(items))
    if len(items) <= MAX_NAMES:
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + " and " + items[-1]
    return ", ".join(items[:MAX_NAMES]) + f" and {len(items) - MAX_NAMES} more"


def _is_date(value: str) -> bool:
    """A date or time as Calliope reads a subset bound (ISO 8601, e.g. 2005-01 or 2005-01-31)."""
    try:
        pd.to_datetime(value, format="ISO8601")
        pd.Period(value)
    except (ValueError, TypeError):
        return False
    return True


def _day(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


# ------------------------------------------------------------------------ the checks


class _Doctor:
    """Reads one exported definition and collects findings."""

    def __init__(self, exported: ModelDefinition, scenario_name: str):
        definition = exported.definition
        self.definition = definition
        self.frames = exported.dataframes
        self.scenario_name = scenario_name
        self.findings: list[ModelFinding] = []
        self.period_text: tuple[str, str] = ("", "")
        self.techs: dict[str, dict] = {k: dict(v or {}) for k, v in (definition.get("techs") or {}).items()}
        self.nodes: dict[str, dict] = {k: dict(v or {}) for k, v in (definition.get("nodes") or {}).items()}
        self.links = {k: v for k, v in self.techs.items() if self.base(k) == "transmission"}
        # Every (node, tech) listed under nodes, and those that take part in the run.
        self.placed: dict[tuple[str, str], dict] = {}
        for node, spec in self.nodes.items():
            for tech, tech_spec in (spec.get("techs") or {}).items():
                self.placed[(node, tech)] = dict(tech_spec or {})
        self.active = {key for key in self.placed if self._placement_on(*key)}
        self.active_links = {name for name in self.links if self._link_on(name)}

    # -- reading the definition

    def base(self, tech: str) -> str:
        return str(self.techs.get(tech, {}).get("base_tech") or "")

    def carriers(self, tech: str, key: str) -> list[str]:
        return _as_list(self.techs.get(tech, {}).get(key))

    def label(self, tech: str) -> str:
        name = self.techs.get(tech, {}).get("name")
        return f"“{name}” ({tech})" if name and name != tech else f"“{tech}”"

    def _value(self, node: str, tech: str, key: str) -> Any:
        node_spec = self.placed.get((node, tech), {})
        return node_spec[key] if key in node_spec else self.techs.get(tech, {}).get(key)

    def _node_on(self, node: str) -> bool:
        return node in self.nodes and self.nodes[node].get("active") is not False

    def _placement_on(self, node: str, tech: str) -> bool:
        if tech not in self.techs or not self._node_on(node):
            return False
        if self.techs[tech].get("active") is False or self.placed[(node, tech)].get("active") is False:
            return False
        return not _all_zero(self._value(node, tech, "flow_cap_max"))

    def _link_on(self, name: str) -> bool:
        spec = self.links[name]
        if spec.get("active") is False or _all_zero(spec.get("flow_cap_max")):
            return False
        return self._node_on(str(spec.get("link_from"))) and self._node_on(str(spec.get("link_to")))

    def active_of(self, *bases: str) -> list[tuple[str, str]]:
        return [(n, t) for (n, t) in self.placed if (n, t) in self.active and self.base(t) in bases]

    def add(self, severity: str, code: str, message: str, hint: str) -> None:
        self.findings.append(ModelFinding(severity=severity, code=code, message=message, hint=hint,
                                          area=FINDING_AREAS.get(code, "")))

    # -- the checks, in the order a planner would fix things

    def run(self) -> None:
        self.check_carriers_defined()
        self.check_placement()
        self.check_links()
        self.check_nodes()
        # With every supply off, that one warning says it all: what it leads to (unmet
        # demands, idle conversions, no costs left in the objective) is not repeated.
        if self.check_supply_exists():
            self.check_demands_supplied()
            self.check_carrier_balance()
            self.check_costs()
        self.check_demand_values()
        self.check_time()

    def check_carriers_defined(self) -> None:
        for tech, spec in self.techs.items():
            if spec.get("active") is False:
                continue
            base = self.base(tech)
            missing = [key for key in REQUIRED_CARRIERS.get(base, ()) if not self.carriers(tech, key)]
            if not missing:
                continue
            if base == "supply":
                message = (f"{self.label(tech)} is a supply technology with no output carrier "
                           "(carrier_out), so it supplies nothing.")
                hint = "Set its carrier_out to the carrier it produces" + self._carrier_example("carrier_in")
            elif base == "demand":
                message = (f"{self.label(tech)} is a demand with no input carrier (carrier_in), "
                           "so it asks for nothing.")
                hint = "Set its carrier_in to the carrier it consumes" + self._carrier_example("carrier_out")
            else:
                words = " and ".join({"carrier_in": "no input carrier (carrier_in)",
                                      "carrier_out": "no output carrier (carrier_out)"}[k] for k in missing)
                message = f"{self.label(tech)} is a {base} technology with {words}, so it cannot run."
                hint = f"Set its {' and '.join(missing)}" + self._carrier_example(None)
            self.add(WARNING, "tech_without_carrier", message, hint)

    def _carrier_example(self, used_as: str | None) -> str:
        """", e.g. power." from carriers other techs use (as input, output or either)."""
        keys = [used_as] if used_as else ["carrier_in", "carrier_out"]
        known = sorted({c for tech in self.techs for key in keys for c in self.carriers(tech, key)})
        return f" (this model uses {_names(f'“{c}”' for c in known)})." if known else "."

    def check_placement(self) -> None:
        placed_techs = {tech for (_, tech) in self.placed}
        for tech, spec in self.techs.items():
            if tech in self.links or tech in placed_techs or spec.get("active") is False:
                continue
            self.add(WARNING, "tech_not_at_node",
                     f"{self.label(tech)} is not at any node, so the run leaves it out.",
                     "Add it to the nodes where it can be built, or delete it if it is not needed.")
        for (node, tech) in self.placed:
            if tech not in self.techs:
                self.add(WARNING, "unknown_tech_at_node",
                         f"Node “{node}” lists a technology “{tech}” that the model does not define.",
                         f"Define “{tech}” or remove it from node “{node}”.")

    def check_links(self) -> None:
        for name, spec in self.links.items():
            if spec.get("active") is not False and spec.get("link_from") == spec.get("link_to"):
                self.add(WARNING, "link_same_location",
                         f"The link {self.label(name)} starts and ends at “{spec.get('link_from')}”, "
                         "so it carries nothing and Calliope refuses it.",
                         "Give the link two different locations, or delete it.")

    def check_nodes(self) -> None:
        linked = {str(spec.get(end)) for spec in self.links.values() for end in ("link_from", "link_to")}
        for node, spec in self.nodes.items():
            if spec.get("active") is False:
                continue
            if not (spec.get("techs") or {}) and node not in linked:
                self.add(WARNING, "node_without_techs",
                         f"Node “{node}” has no technologies and no transmission links, "
                         "so it plays no part in the run.",
                         "Add technologies or a link to it, or delete it.")

    def check_supply_exists(self) -> bool:
        """False (after a warning) when no supply technology is on anywhere while demand is."""
        if not self.active_of("demand") or self.active_of("supply"):
            return True
        supplies = [(n, t) for (n, t) in self.placed if self.base(t) == "supply" and t in self.techs]
        demands = _names(self.label(t) for _, t in self.active_of("demand"))
        if supplies:
            off = _names(f"{t} at {n}" for n, t in supplies)
            who = ("This model switches" if self.scenario_name == BASE_SCENARIO
                   else f"Scenario “{self.scenario_name}” switches")
            self.add(WARNING, "all_supply_off",
                     f"{who} off every supply technology ({off}), so nothing can meet {demands}.",
                     "Switch at least one supply back on (active: true and a flow_cap_max above 0), "
                     "or choose another scenario.")
        else:
            self.add(WARNING, "no_supply",
                     f"No supply technology is at any node, so nothing can meet {demands}.",
                     "Add a supply technology (a power plant, an import, a renewable source) to a node.")
        return False

    def _available(self) -> set[tuple[str, str]]:
        """(node, carrier) pairs some active technology can deliver, through conversion and links."""
        available = {(n, c) for n, t in self.active_of("supply") for c in self.carriers(t, "carrier_out")}
        conversions = self.active_of("conversion")
        links = [(str(self.links[k].get("link_from")), str(self.links[k].get("link_to")),
                  self.carriers(k, "carrier_out"), self.links[k].get("one_way") is True)
                 for k in sorted(self.active_links)]
        changed = True
        while changed:
            before = len(available)
            for n, t in conversions:
                if any((n, c) in available for c in self.carriers(t, "carrier_in")):
                    available.update((n, c) for c in self.carriers(t, "carrier_out"))
            for a, b, carriers, one_way in links:
                for c in carriers:
                    if (a, c) in available:
                        available.add((b, c))
                    if (b, c) in available and not one_way:
                        available.add((a, c))
            changed = len(available) > before
        return available

    def _producers(self, carrier: str) -> list[str]:
        return list(dict.fromkeys(t for _, t in self.active_of("supply", "conversion")
                                  if carrier in self.carriers(t, "carrier_out")))

    def _unused_outputs(self) -> dict[str, list[str]]:
        """Carrier -> techs that produce it, for carriers no demand, conversion or export takes."""
        consumed = {c for _, t in self.active_of("demand", "conversion") for c in self.carriers(t, "carrier_in")}
        consumed |= {c for _, t in self.active_of(*REQUIRED_CARRIERS) for c in self.carriers(t, "carrier_export")}
        out: dict[str, list[str]] = {}
        for _, t in self.active_of("supply", "conversion"):
            for c in self.carriers(t, "carrier_out"):
                if c not in consumed and t not in out.setdefault(c, []):
                    out[c].append(t)
        return out

    def check_demands_supplied(self) -> None:
        available = self._available()
        unmet: dict[tuple[str, str], list[str]] = {}
        for node, tech in self.active_of("demand"):
            for carrier in self.carriers(tech, "carrier_in"):
                if (node, carrier) not in available:
                    unmet.setdefault((tech, carrier), []).append(node)
        unused = self._unused_outputs()
        for (tech, carrier), nodes in unmet.items():
            where = _names(nodes)
            producers = self._producers(carrier)
            reached = sorted({n for (n, c) in available if c == carrier})
            if not producers:
                others = "; ".join(f"{_names(self.label(t) for t in techs)} produces “{c}”, which nothing uses"
                                   for c, techs in unused.items())
                message = (f"Nothing supplies “{carrier}” for {self.label(tech)} at {where}: no technology "
                           f"produces “{carrier}”" + (f" ({others})." if others else "."))
                hint = (f"Give a supply technology carrier_out: {carrier} (carrier names must match "
                        "exactly), or add one.") if others else (
                        f"Add a supply of “{carrier}”, or a conversion technology that makes it.")
            elif not reached:
                message = (f"Nothing supplies “{carrier}” for {self.label(tech)} at {where}: only "
                           f"{_names(self.label(t) for t in producers)} can make “{carrier}”, and "
                           "none of them gets its input carrier.")
                hint = "Add a supply of their input carrier at the same node, or a link that brings it."
            else:
                message = (f"{self.label(tech)} at {where} needs “{carrier}”, but no “{carrier}” can reach "
                           f"{'it' if len(nodes) == 1 else 'them'}: it is available only at {_names(reached)}.")
                hint = (f"Add a “{carrier}” transmission link from {reached[0]}, or a supply of "
                        f"“{carrier}” at {where}.")
            self.add(WARNING, "demand_without_supply", message, hint)

    def check_carrier_balance(self) -> None:
        for carrier, techs in self._unused_outputs().items():
            self.add(INFO, "carrier_not_used",
                     f"{_names(self.label(t) for t in techs)} produce{'s' if len(techs) == 1 else ''} "
                     f"“{carrier}”, but no demand, conversion or export takes “{carrier}”.",
                     "If it should meet a demand, use the demand's carrier name; otherwise the "
                     "technology can only run where its output is not needed.")
        produced = {c for _, t in self.active_of("supply", "conversion") for c in self.carriers(t, "carrier_out")}
        needs: dict[str, list[str]] = {}
        for _, t in self.active_of("conversion", "storage"):
            for c in self.carriers(t, "carrier_in"):
                if c not in produced and t not in needs.setdefault(c, []):
                    needs[c].append(t)
        for carrier, techs in needs.items():
            self.add(INFO, "carrier_not_produced",
                     f"{_names(self.label(t) for t in techs)} take{'s' if len(techs) == 1 else ''} "
                     f"“{carrier}”, but nothing produces “{carrier}”, so "
                     f"{'it' if len(techs) == 1 else 'they'} can never run.",
                     f"Add a supply of “{carrier}”, or check the carrier name.")

    def check_demand_values(self) -> None:
        with_values: set[tuple[str | None, str]] = set()  # (node or None for every node, tech)
        for tech in self.techs:
            if any(_has_nonzero(self.techs[tech].get(p)) for p in SINK_PARAMS):
                with_values.add((None, tech))
        for (node, tech), spec in self.placed.items():
            if any(_has_nonzero(spec.get(p)) for p in SINK_PARAMS):
                with_values.add((node, tech))
        for frame in self.frames.values():
            names = list(frame.columns.names)
            for column in frame.columns:
                key = dict(zip(names, column if isinstance(column, tuple) else (column,)))
                if key.get("inputs") in SINK_PARAMS and "techs" in key and (frame[column].fillna(0) != 0).any():
                    with_values.add((key.get("nodes"), key["techs"]))
        empty: dict[str, list[str]] = {}
        for node, tech in self.active_of("demand"):
            if (None, tech) not in with_values and (node, tech) not in with_values:
                empty.setdefault(tech, []).append(node)
        for tech, nodes in empty.items():
            self.add(WARNING, "demand_without_values",
                     f"{self.label(tech)} at {_names(nodes)} has no demand values (sink_use_equals), "
                     "so it asks for nothing and the run meets no demand there.",
                     "Give it a demand time series (sink_use_equals), or remove it from those nodes.")

    def check_costs(self) -> None:
        config = self.definition.get("config") or {}
        objective = (config.get("build") or {}).get("objective") or "min_cost_optimisation"
        if objective != "min_cost_optimisation":
            return
        classes: set[str | None] = set()
        on_techs = {t for _, t in self.active} | set(self.active_links)
        for tech in on_techs:
            for key, value in self.techs[tech].items():
                if key.startswith("cost_") and key not in NOT_A_COST:
                    classes |= _cost_classes(value)
        for key in self.active:
            for name, value in self.placed[key].items():
                if name.startswith("cost_") and name not in NOT_A_COST:
                    classes |= _cost_classes(value)
        for frame in self.frames.values():
            names = list(frame.columns.names)
            for column in frame.columns:
                key = dict(zip(names, column if isinstance(column, tuple) else (column,)))
                name = str(key.get("inputs", ""))
                if (name.startswith("cost_") and name not in NOT_A_COST and key.get("techs") in on_techs
                        and (frame[column].fillna(0) != 0).any()):
                    classes.add(key.get("costs"))
        if not classes:
            self.add(WARNING, "no_costs",
                     "No technology in this run has a cost, so the objective is 0 and any solution "
                     "counts as optimal: the capacities and dispatch it returns mean nothing.",
                     "Give the technologies costs (e.g. cost_flow_cap, cost_source_use). If the costs "
                     "come from a data table, check that it has rows and not only a header.")
            return
        weights = (self.definition.get("data_definitions") or {}).get("objective_cost_weights")
        weighted = self._weighted(weights, classes)
        if None in classes or weighted:
            return
        used = _names(f"“{c}”" for c in sorted(c for c in classes if c))
        self.add(WARNING, "costs_not_in_objective",
                 f"The objective counts no cost class the technologies have costs in ({used}): "
                 "its objective_cost_weights are 0 for them, so every solution costs the same.",
                 "Set objective_cost_weights above 0 for one of those cost classes.")

    @staticmethod
    def _weighted(weights: Any, classes: set[str | None]) -> set[str]:
        """The cost classes the objective weighs (Calliope's default weight is 1)."""
        named = {c for c in classes if c}
        if weights is None:
            return named
        if not isinstance(weights, dict) or "costs" not in _as_list(weights.get("dims")):
            return named if _has_nonzero(weights) else set()
        position = _as_list(weights.get("dims")).index("costs")
        index = weights.get("index") or []
        data = weights.get("data")
        items = list(data) if isinstance(data, list | tuple) else [data] * len(index)
        given = {}
        for item, key in zip(items, index):
            key = key if isinstance(key, list | tuple) else [key]
            if position < len(key):
                given[str(key[position])] = _number(item)
        # A class the weights do not list (or leave empty) gets the default weight, 1.
        return {c for c in named if given.get(c) is None or given[c] != 0}

    def check_time(self) -> None:
        frames = [f for f in self.frames.values() if isinstance(f.index, pd.DatetimeIndex) and len(f.index)]
        subset = ((self.definition.get("config") or {}).get("init") or {}).get("subset") or {}
        raw = subset.get("timesteps") if isinstance(subset, dict) else None
        period: tuple[pd.Timestamp, pd.Timestamp] | None = None
        if raw:
            raw = [str(v) for v in _as_list(raw)]
            bad = [v for v in raw if not _is_date(v)]
            if len(raw) != 2 or bad:
                what = (f"{_names(f'“{v}”' for v in bad)} {'is not a date' if len(bad) == 1 else 'are not dates'}"
                        if bad else f"{' to '.join(raw)} is not a start and an end date")
                self.add(WARNING, "bad_period", f"The run period is wrong: {what}, so the run will fail.",
                         "Choose a start and an end date (YYYY-MM-DD) for the run.")
                return
            period = (pd.Period(raw[0]).start_time, pd.Period(raw[1]).end_time)
            self.period_text = (_day(period[0]), _day(period[1]))
            if period[0] > period[1]:
                self.add(WARNING, "bad_period",
                         f"The run period starts ({raw[0]}) after it ends ({raw[1]}).",
                         "Choose an end date on or after the start date.")
                return
        if not frames:
            self.add(WARNING, "no_timeseries",
                     "The model has no time series (no demand or resource profile), so it has no "
                     "time steps to solve.",
                     "Add a demand time series (sink_use_equals) to the demand technologies.")
            return
        if period is None:
            return
        first = min(f.index.min() for f in frames)
        last = max(f.index.max() for f in frames)
        start, end = period
        if end.date() < first.date() or start.date() > last.date():
            self.add(WARNING, "period_outside_data",
                     f"The run period {_day(start)} to {_day(end)} is outside the model's time series, "
                     f"which cover {_day(first)} to {_day(last)}, so the run will fail.",
                     f"Choose dates between {_day(first)} and {_day(last)}.")
            return
        if start.date() < first.date() or end.date() > last.date():
            covered = f"{_day(max(start, first))} to {_day(min(end, last))}"
            self.add(WARNING, "period_beyond_data",
                     f"The run period {_day(start)} to {_day(end)} goes beyond the model's time series "
                     f"({_day(first)} to {_day(last)}), so the run covers only {covered}.",
                     f"Choose dates between {_day(first)} and {_day(last)}, or add time series for "
                     "the rest of the period.")
            start, end = max(start, first), min(end, last)
        # Within what the run covers, a series that starts later or ends sooner leaves gaps.
        short: dict[tuple[str, str], list[str]] = {}
        for frame in frames:
            names = list(frame.columns.names)
            for column in frame.columns:
                series = frame[column]
                begin, stop = series.first_valid_index(), series.last_valid_index()
                if begin is None:
                    continue
                if begin.date() > start.date() or stop.date() < end.date():
                    key = dict(zip(names, column if isinstance(column, tuple) else (column,)))
                    short.setdefault((_day(begin), _day(stop)), []).append(self._series_name(key))
        for (begin, stop), series_names in short.items():
            self.add(WARNING, "timeseries_short",
                     f"The time series {_names(series_names)} cover{'s' if len(series_names) == 1 else ''} "
                     f"only {begin} to {stop}, but the run goes from {_day(start)} to {_day(end)}: "
                     "outside that span their values are missing.",
                     f"Run within {begin} to {stop}, or extend the time series to cover the run.")

    def _series_name(self, key: dict) -> str:
        text = str(key.get("inputs", "values"))
        if key.get("techs"):
            text += f" of {key['techs']}"
        if key.get("nodes"):
            text += f" at {key['nodes']}"
        return text
