"""The run comparison page: two selects, then what differed in the inputs and in the results.

The comparison (zips, CSV files) and the figures are made in a worker thread (`rx.run_in_thread`);
the state keeps the rows and the two figures the page shows.
"""

from __future__ import annotations

import dataclasses

import plotly.graph_objects as go
import reflex as rx

from engage_reflex.charts.compare import capacity_comparison_figure, cost_comparison_figure
from engage_reflex.schemas.compare import ComparisonView, InputChange, RunChoice
from engage_reflex.services import compare, models
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state._format import number
from engage_reflex.state.auth import AuthState
from engage_reflex.services.access import open_to_visitors


@dataclasses.dataclass(frozen=True)
class DeltaRow:
    group: str  # "flow capacity (power), kW", a cost class, or "Objective"
    tech: str  # the technology's name ("" for totals)
    node: str
    first: str
    second: str
    delta: str  # signed: "+1,000", "−250"
    up: bool  # the second run's value is higher


@dataclasses.dataclass
class Loaded:
    """One read for the page (made in a worker thread)."""

    model_name: str
    choices: list[RunChoice]
    view: ComparisonView | None = None
    error: str = ""  # why the chosen runs cannot be compared
    figures: tuple[go.Figure, go.Figure] | None = None


def _signed(value: float) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + number(abs(value))


def _row(group: str, tech: str, node: str, first: float | None, second: float | None) -> DeltaRow:
    delta = second - first if first is not None and second is not None else 0.0
    return DeltaRow(group=group, tech=tech, node=node, first=number(first), second=number(second),
                    delta=_signed(delta), up=delta > 0)


@open_to_visitors
def read_comparison(*, session, user_id: int | None, model_id: int, run_a: int | None, run_b: int | None) -> Loaded:
    """The model's runs to choose from and, when two are chosen, their comparison and figures (blocking)."""
    header = models.get_model_header(session=session, user_id=user_id, model_id=model_id)
    loaded = Loaded(header.name, compare.comparable_runs(session=session, user_id=user_id, model_id=model_id))
    if run_a is None or run_b is None:
        return loaded
    try:
        view = compare.compare_runs(session=session, user_id=user_id, model_id=model_id, run_a=run_a, run_b=run_b)
    except EngageError as exc:
        loaded.error = exc.message
        return loaded
    labels = (f"Run #{view.first.id}", f"Run #{view.second.id}")
    loaded.view, loaded.figures = view, (
        capacity_comparison_figure(*view.capacity_tables, view.techs, labels=labels, unit=view.capacity_unit),
        cost_comparison_figure(*view.cost_tables, view.techs, labels=labels))
    return loaded


def _number(raw) -> int | None:
    return int(raw) if str(raw or "").isdigit() else None


class CompareState(AuthState):
    loaded: bool = False
    error: str = ""  # the model cannot be shown
    compare_error: str = ""  # the chosen runs cannot be compared
    compare_model_id: int = 0
    model_name: str = ""
    choices: list[RunChoice] = []
    first: str = ""
    second: str = ""
    compared: bool = False
    title: str = ""  # "Run #12 against run #15"
    objective: list[DeltaRow] = []  # one row
    inputs: list[InputChange] = []
    inputs_note: str = ""
    capacity: list[DeltaRow] = []
    capacity_same: int = 0
    cost_totals: list[DeltaRow] = []
    costs: list[DeltaRow] = []
    costs_same: int = 0
    capacity_plot: go.Figure = go.Figure()
    cost_plot: go.Figure = go.Figure()

    @rx.event
    async def load(self):
        """on_load: the runs to choose from; `?a=12&b=15` compares those two at once."""
        self.loaded, self.error, self.compare_error, self.compared = False, "", "", False
        params = self.router.url.query_parameters
        self.first, self.second = params.get("a", ""), params.get("b", "")
        to_login = await self._compare(bool(self.first and self.second))
        self.loaded = True
        return to_login

    @rx.event
    def set_first(self, value: str):
        self.first = value

    @rx.event
    def set_second(self, value: str):
        self.second = value

    @rx.event
    async def run_compare(self):
        if not (self.first and self.second):
            self.compare_error = "Pick a first and a second run to compare."
            return
        return await self._compare(True)

    async def _compare(self, both: bool):
        model_id = _number(self.model_id)
        if model_id is None:
            self.error = f"“{self.model_id}” is not a model number. Open a model from My models."
            return
        run_a, run_b = (_number(self.first), _number(self.second)) if both else (None, None)
        try:
            got = await self._call(read_comparison, model_id=model_id, run_a=run_a, run_b=run_b)
        except LoginRequired:  # a visitor asked for a model that is not public
            return self._to_login()
        except EngageError as exc:  # the model is not there (or not for this user)
            self.error = exc.message
            return
        self.compare_model_id, self.model_name, self.choices = model_id, got.model_name, got.choices
        if not (self.first or self.second) and len(got.choices) >= 2:  # offer the two newest, older first
            self.first, self.second = got.choices[1].id, got.choices[0].id
        self.compare_error = got.error
        self.compared = self.compared and not got.error
        if got.view is not None:
            self._show(got.view, got.figures)

    def _show(self, view: ComparisonView, figures: tuple[go.Figure, go.Figure]) -> None:
        self.title = f"Run #{view.first.id} against run #{view.second.id}"
        self.objective = [_row("Objective", "", "", view.objective_first, view.objective_second)]
        self.inputs, self.inputs_note = view.input_changes, view.inputs_note
        self.capacity = [_row(f"{d.group}, {d.unit}" if d.unit else d.group, d.tech_name, d.node, d.first, d.second)
                         for d in view.capacity_changes]
        self.cost_totals = [_row("", t.cost_class, "", t.first, t.second) for t in view.cost_totals]
        self.costs = [_row(d.group, d.tech_name, d.node, d.first, d.second) for d in view.cost_changes]
        self.capacity_same, self.costs_same = view.capacity_unchanged, view.cost_unchanged
        self.capacity_plot, self.cost_plot = figures
        self.compared = True
