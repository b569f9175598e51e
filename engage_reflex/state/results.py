"""The results page of one run: summary, capacity and dispatch charts, NetCDF download.

Only the figures and a few labels live in the state; the result tables stay on the server
and are read again (cached) when the carrier or node changes. The reading (database, CSV
files) and the drawing run in a worker thread (`rx.run_in_thread`), never on the event loop;
the handlers are plain async events, so one tab's changes are applied in order.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import plotly.graph_objects as go
import reflex as rx

from engage_reflex.charts._style import empty_figure, tech_table
from engage_reflex.charts.capacity import capacity_figure
from engage_reflex.charts.dispatch import dispatch_figure
from engage_reflex.db import session_scope
from engage_reflex.schemas import DispatchView, ResultsView
from engage_reflex.services import downloads, results, runs
from engage_reflex.services.errors import EngageError
from engage_reflex.state._format import number
from engage_reflex.state.auth import AuthState, lookup_user

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


def draw_figures(view: ResultsView, dispatch: DispatchView, *, carrier: str, node: str,
                 stacked: bool) -> tuple[go.Figure, go.Figure, str]:
    """The capacity and dispatch figures for one carrier and node (ALL_NODES for the sum), and
    the note shown under the dispatch (why it is empty, or that it shows daily means)."""
    unit = view.units.get(carrier, "kW")
    capacity_plot = capacity_figure(view.capacity, view.techs, carrier=carrier or None, unit=unit,
                                    stacked=stacked, title=f"Installed {carrier} capacity")
    where = "all nodes" if node in ("", ALL_NODES) else node
    title = f"Dispatch of {carrier}, {where}"
    if dispatch.flows.empty:
        return capacity_plot, empty_figure(dispatch.note or f"No {carrier} flowed at {where}.", title=title), \
            dispatch.note
    dispatch_plot = dispatch_figure(dispatch.flows, view.techs, carrier=carrier, unit=dispatch.unit, title=title)
    return capacity_plot, dispatch_plot, dispatch.note


@dataclasses.dataclass
class Loaded:
    """What one read of the results gives the page (built in a worker thread)."""

    email: str = ""
    error: str = ""
    view: ResultsView | None = None
    carrier: str = ""
    figures: tuple[go.Figure, go.Figure, str] | None = None


def read_results(token: str, run_id: str, carrier: str | None, node: str, stacked: bool) -> Loaded:
    """Who is asking, the run's results and the figures for `carrier` (None: the main carrier)
    at `node`. Blocking (database, CSV files, plotly): call it through rx.run_in_thread."""
    user = lookup_user(token)
    if user is None:
        return Loaded()
    if not str(run_id).isdigit():
        return Loaded(email=user.email, error=f"“{run_id}” is not a run number.")
    try:
        with session_scope() as session:
            view = results.load_results(session=session, user_id=user.id, run_id=int(run_id))
            chosen = (view.carriers[0] if view.carriers else "") if carrier is None else carrier
            dispatch = results.load_dispatch(session=session, user_id=user.id, run_id=int(run_id),
                                             carrier=chosen, node="" if node == ALL_NODES else node)
    except EngageError as exc:
        return Loaded(email=user.email, error=exc.message)
    figures = draw_figures(view, dispatch, carrier=chosen, node=node, stacked=stacked)
    return Loaded(email=user.email, view=view, carrier=chosen, figures=figures)


def check_download(token: str, run_id: str, name: str = "netcdf") -> tuple[int, int]:
    """(user id, run id) when the user may download the run's `name` artefact; EngageError otherwise."""
    user = lookup_user(token)
    if user is None or not str(run_id).isdigit():
        raise EngageError("Please log in again to download this run.")
    with session_scope() as session:
        runs.run_artefact(session=session, user_id=user.id, run_id=int(run_id), name=name)
    return user.id, int(run_id)


class ResultsState(AuthState):
    loaded: bool = False
    error: str = ""
    title: str = ""
    has_inputs: bool = False
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

    @rx.event
    async def load(self):
        self.loaded, self.error, self.title = False, "", ""
        self.node, self.stacked = ALL_NODES, True
        got = await rx.run_in_thread(functools.partial(
            read_results, self.auth_token, self.run_id, None, ALL_NODES, True))
        self.user_email = got.email
        if not got.email:  # not logged in: the login guard sends the visitor away
            return
        if got.view is None:
            self.error, self.loaded = got.error, True
            return
        view = got.view
        run = view.run
        self.title, self.model_name, self.results_model_id = f"Run #{run.id}", run.model_name, run.model_id
        self.has_inputs = run.has_inputs
        self.facts, self.costs = _facts(view), _costs(view)
        self.carriers, self.nodes, self.carrier = view.carriers, view.nodes, got.carrier
        self._show(got)
        self.loaded = True

    def _show(self, got: Loaded) -> None:
        if got.figures is None:
            self.error = got.error or self.error
            return
        self.error = ""
        self.capacity_plot, self.dispatch_plot, self.dispatch_note = got.figures

    async def _redraw(self):
        got = await rx.run_in_thread(functools.partial(
            read_results, self.auth_token, self.run_id, self.carrier, self.node, self.stacked))
        if not got.email:
            return rx.toast.error("Please log in again to see these results.")
        self._show(got)

    @rx.event
    async def set_carrier(self, value: str):
        self.carrier = value
        return await self._redraw()

    @rx.event
    async def set_node(self, value: str):
        self.node = value
        return await self._redraw()

    @rx.event
    async def set_stacked(self, value: str | list[str]):
        self.stacked = value == "stacked"
        return await self._redraw()

    @rx.event
    async def download(self, name: str):
        """The run's NetCDF ("netcdf") or its inputs as a zip for `calliope run` ("inputs")."""
        try:
            user_id, run_id = await rx.run_in_thread(functools.partial(check_download, self.auth_token,
                                                                       self.run_id, name))
        except EngageError as exc:
            return rx.toast.error(exc.message)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.model_name).strip("-").lower() or "model"
        link = downloads.artefact_link(run_id=run_id, name=name, user_id=user_id)
        suffix = "-inputs.zip" if name == "inputs" else ".nc"
        return rx.download(url=link, filename=f"{slug}-run-{run_id}{suffix}")
