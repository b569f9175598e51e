"""The results page of one run: summary, capacity and dispatch charts, NetCDF download.

Only the figures and a few labels live in the state; the result tables stay on the server
and are read again (cached) when the carrier or node changes.
"""

from __future__ import annotations

import dataclasses
import re

import plotly.graph_objects as go
import reflex as rx

from engage_reflex.charts.capacity import capacity_figure
from engage_reflex.charts.dispatch import dispatch_figure
from engage_reflex.charts._style import tech_table
from engage_reflex.db import session_scope
from engage_reflex.schemas import ResultsView
from engage_reflex.services import downloads, results, runs
from engage_reflex.services.errors import EngageError
from engage_reflex.state._format import number
from engage_reflex.state.auth import AuthState

ALL_NODES = "__all__"


@dataclasses.dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclasses.dataclass(frozen=True)
class CostRow:
    name: str
    color: str
    value: str
    is_total: bool = False


def _facts(view: ResultsView) -> list[Fact]:
    run = view.run
    span = run.subset_start if run.subset_start == run.subset_end else f"{run.subset_start} to {run.subset_end}"
    facts = [
        Fact("Scenario", run.scenario_name),
        Fact("Solver", "HiGHS" if run.solver == "highs" else run.solver.upper()),
        Fact("Dates", span),
        Fact("Time steps", f"every {run.resample}" if run.resample else "hourly (as in the model)"),
        Fact("Objective (total cost)", number(run.objective) if run.objective is not None else "–"),
    ]
    facts += [Fact(label, f"{seconds:,.1f} s") for label, seconds in view.timings]
    if run.duration_s is not None and not any(label.lower() == "total" for label, _ in view.timings):
        facts.append(Fact("Total time", f"{run.duration_s:,.1f} s"))
    return facts


def _costs(view: ResultsView) -> list[CostRow]:
    """Monetary cost per technology; lines of one name (e.g. "District heat distribution") are one row."""
    costs = view.costs
    if "monetary" in set(costs["cost_class"]):
        costs = costs[costs["cost_class"] == "monetary"]
    table = tech_table(view.techs, costs["tech"].unique())
    per_name = costs.groupby(costs["tech"].map(table["name"]), sort=False)["value"].sum()
    colors = table.drop_duplicates("name").set_index("name")["color"]
    rows = [CostRow(name, colors[name], number(per_name[name]))
            for name in colors.index if name in per_name.index and abs(per_name[name]) > 1e-9]
    return rows + [CostRow("Total", "", number(per_name.sum()), is_total=True)] if rows else rows


class ResultsState(AuthState):
    loaded: bool = False
    error: str = ""
    title: str = ""
    results_model_id: int = 0
    model_name: str = ""
    facts: list[Fact] = []
    costs: list[CostRow] = []
    carriers: list[str] = []
    carrier: str = ""
    nodes: list[str] = []
    node: str = ALL_NODES
    stacked: bool = True
    capacity_plot: go.Figure = go.Figure()
    dispatch_plot: go.Figure = go.Figure()
    dispatch_note: str = ""

    def _ids(self) -> tuple[int, int] | None:
        user = self._current_user()
        if user is None or not str(self.run_id).isdigit():
            return None
        return user.id, int(self.run_id)

    @rx.event
    def load(self):
        self.loaded, self.error, self.title = False, "", ""
        ids = self._ids()
        if ids is None:
            if self.user_email:
                self.error, self.loaded = f"“{self.run_id}” is not a run number.", True
            return
        try:
            with session_scope() as session:
                view = results.load_results(session=session, user_id=ids[0], run_id=ids[1])
        except EngageError as exc:
            self.error, self.loaded = exc.message, True
            return
        run = view.run
        self.title, self.model_name, self.results_model_id = f"Run #{run.id}", run.model_name, run.model_id
        self.facts, self.costs = _facts(view), _costs(view)
        self.carriers, self.nodes = view.carriers, view.nodes
        self.carrier = view.carriers[0] if view.carriers else ""
        self.node, self.stacked = ALL_NODES, True
        self._draw(view)
        self.loaded = True

    def _draw(self, view: ResultsView | None = None):
        ids = self._ids()
        if ids is None:
            return
        try:
            with session_scope() as session:
                view = view or results.load_results(session=session, user_id=ids[0], run_id=ids[1])
                node = "" if self.node == ALL_NODES else self.node
                dispatch = results.load_dispatch(session=session, user_id=ids[0], run_id=ids[1],
                                                 carrier=self.carrier, node=node)
        except EngageError as exc:
            self.error = exc.message
            return
        unit = view.units.get(self.carrier, "kW")
        self.capacity_plot = capacity_figure(view.capacity, view.techs, carrier=self.carrier or None, unit=unit,
                                             stacked=self.stacked, title=f"Installed {self.carrier} capacity")
        where = "all nodes" if not node else node
        self.dispatch_plot = dispatch_figure(dispatch.flows, view.techs, carrier=self.carrier, unit=dispatch.unit,
                                             title=f"Dispatch of {self.carrier}, {where}")
        self.dispatch_note = dispatch.note

    @rx.event
    def set_carrier(self, value: str):
        self.carrier = value
        self._draw()

    @rx.event
    def set_node(self, value: str):
        self.node = value
        self._draw()

    @rx.event
    def set_stacked(self, value: str | list[str]):
        self.stacked = value == "stacked"
        self._draw()

    @rx.event
    def download_netcdf(self):
        ids = self._ids()
        if ids is None:
            return rx.toast.error("Please log in again to download this run.")
        try:
            with session_scope() as session:
                runs.run_artefact(session=session, user_id=ids[0], run_id=ids[1], name="netcdf")
        except EngageError as exc:
            return rx.toast.error(exc.message)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.model_name).strip("-").lower() or "model"
        link = downloads.artefact_link(run_id=ids[1], name="netcdf", user_id=ids[0])
        return rx.download(url=link, filename=f"{slug}-run-{ids[1]}.nc")
