"""The Runs page of a model: the form that starts a run (the live list is state/runs.py).

The form checks the chosen scenario before it is run (services/model_check.py): the check
runs in a thread from a background event, again whenever the scenario or the dates change,
and its findings show above the Run button. They are advice: the run can still be started.
The same event shows whether the scenario's timeseries cover the dates (services/coverage.py):
start_run refuses a period that is not covered, so the form says so before Run is pressed.
"""

from __future__ import annotations

import functools
import logging

import plotly.graph_objects as go
import reflex as rx

from engage_reflex.charts.coverage import coverage_timeline
from engage_reflex.db import session_scope
from engage_reflex.schemas import LocationView, ModelCheckView, ScenarioView, TechView
from engage_reflex.services import coverage, model_check, models, runs
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.auth import LOGIN_ROUTE, call_as_user, lookup_user
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.check import FindingRow, finding_rows
from engage_reflex.state.runs import RunsState

log = logging.getLogger(__name__)
NO_RESAMPLING = "none"


def fetch_check(token: str, scenario_id: int, start: str, end: str) -> ModelCheckView | None:
    """The pre-run check of a scenario for the logged-in user; None when the login is gone."""
    user = lookup_user(token)
    if user is None:
        return None
    with session_scope() as session:
        return model_check.check_scenario(session=session, user_id=user.id, scenario_id=scenario_id,
                                          subset_start=start or None, subset_end=end or None)


async def _coverage_shown(token: str, scenario_id: int, start: str, end: str) -> tuple[str, go.Figure, str, str]:
    """("covered" | "refused" | "unknown" | "" when the login is gone, timeline, refusal, note) of the
    form's scenario and dates."""
    kwargs = dict(scenario_id=scenario_id, start=start, end=end)
    try:
        view = await rx.run_in_thread(functools.partial(call_as_user, token, coverage.scenario_coverage, kwargs))
    except LoginRequired:
        return "", go.Figure(), "", ""
    except EngageError as exc:  # dates start_run refuses for the same reason
        return "refused", go.Figure(), exc.message, ""
    except Exception:  # start_run checks again: a failure here must not stop anyone from running
        log.exception("The timeseries coverage of scenario %s failed", scenario_id)
        return "unknown", go.Figure(), "", "The timeseries coverage could not be shown this time; Run still checks it."
    verdict = "covered" if view.covered else "refused"
    return verdict, coverage_timeline(view), view.refusal, coverage.period_note(view)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_title(view: ModelCheckView) -> str:
    parts = [_plural(len(view.warnings), "warning")] if view.warnings else []
    parts += [_plural(len(view.infos), "note")] if view.infos else []
    return "Before you run: " + " and ".join(parts) if parts else ""


class RunFormState(ModelEditorState):
    loaded: bool = False
    error: str = ""
    time_start: str = ""
    time_end: str = ""
    scenarios: list[ScenarioView] = []
    technologies: list[TechView] = []
    locations: list[LocationView] = []
    # The run form.
    scenario: str = ""
    solver: str = "highs"
    start: str = ""
    end: str = ""
    dates_model_id: int = 0  # the model the chosen dates belong to
    resample: str = NO_RESAMPLING
    cluster_days: str = ""  # representative days ("" solves every day)
    notes: str = ""  # what the planner writes about the run (optional)
    starting: bool = False
    # The pre-run check of the form's scenario and dates.
    checking: bool = False
    check_done: bool = False
    check_error: str = ""
    check_title: str = ""
    check_warnings: int = 0
    findings: list[FindingRow] = []
    # Whether the form's dates are covered by every timeseries the scenario uses.
    coverage_state: str = ""  # "covered" | "refused" | "unknown" ("" while it is computed)
    coverage_figure: go.Figure = go.Figure()
    coverage_refusal: str = ""  # what start_run would refuse the run with ("" when covered)
    coverage_note: str = ""  # the period and its zone, or why the coverage could not be computed

    @rx.var
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    @rx.event
    async def load(self):
        self.loaded, self.error = False, ""
        user = await self._current_user_async()
        if user is None:
            return
        try:
            model_id = self._current_model_id()
            detail = await rx.run_in_thread(functools.partial(call_as_user, self.auth_token, models.get_model_detail,
                                                              {"model_id": model_id}))
        except EngageError as exc:
            self.error, self.loaded = exc.message, True
            return
        self.time_start, self.time_end = detail.time_start, detail.time_end
        self.scenarios, self.technologies, self.locations = detail.scenarios, detail.technologies, detail.locations
        names = [s.name for s in detail.scenarios]
        self.scenario = "base" if "base" in names else (names[0] if names else "")
        self.solver, self.resample = "highs", NO_RESAMPLING
        # Dates the planner chose for this model stay when they come back to the page (or typed them
        # while it was loading); a new model, or dates outside its data, get the default period.
        chosen = (self.dates_model_id == model_id and self.start and self.end
                  and detail.time_start <= self.start <= self.end <= detail.time_end)
        if not chosen:
            self.start, self.end = detail.default_subset_start, detail.default_subset_end
        self.dates_model_id = model_id
        self.loaded = True
        return RunFormState.check_model

    @rx.event
    def set_scenario(self, value: str):
        self.scenario = value
        chosen = next((s for s in self.scenarios if s.name == value), None)
        if chosen is not None and chosen.subset_start:  # the scenario's own period, as a start
            self.start, self.end = chosen.subset_start, chosen.subset_end
        return RunFormState.check_model

    @rx.event
    def set_solver(self, value: str):
        self.solver = value

    @rx.event
    def set_start(self, value: str):
        self.start = value
        if value and self.end and self.end < value:
            self.end = value  # keep the span the right way round
        return RunFormState.check_model

    @rx.event
    def set_end(self, value: str):
        self.end = value
        return RunFormState.check_model

    @rx.event
    def set_resample(self, value: str):
        self.resample = value

    @rx.event
    def set_cluster_days(self, value: str):
        self.cluster_days = value

    @rx.event
    def set_notes(self, value: str):
        self.notes = value

    @rx.event(background=True, supersedes=True)
    async def check_model(self):
        """Show the timeseries coverage of the chosen dates, then check the scenario, off the event loop."""
        async with self:
            scenario = next((s for s in self.scenarios if s.name == self.scenario), None)
            asked = (self.scenario, self.start, self.end)
            token = self.auth_token
            if scenario is None:
                self.checking, self.check_done, self.findings, self.coverage_state = False, False, [], ""
                return
            self.checking, self.check_error = True, ""
        shown = await _coverage_shown(token, scenario.id, asked[1], asked[2])
        async with self:
            if (self.scenario, self.start, self.end) != asked:
                return  # the form changed meanwhile; its own check is on the way
            self.coverage_state, self.coverage_figure, self.coverage_refusal, self.coverage_note = shown
        try:
            view = await rx.run_in_thread(functools.partial(fetch_check, token, scenario.id, asked[1], asked[2]))
            error = ""
        except EngageError as exc:
            view, error = None, exc.message
        except Exception:  # the check is advice: a failure must not stop anyone from running
            log.exception("The pre-run check of scenario %s failed", scenario.id)
            view, error = None, "The model check could not run this time."
        async with self:
            if (self.scenario, self.start, self.end) != asked:
                return  # the form changed meanwhile; its own check is on the way
            # No view and no error: the login is gone (the page sends the visitor to log in).
            self.checking, self.check_done, self.check_error = False, view is not None or bool(error), error
            if view is None:
                self.findings, self.check_title, self.check_warnings = [], "", 0
                return
            self.findings = finding_rows(view)
            self.check_title = check_title(view)
            self.check_warnings = len(view.warnings)

    @rx.event
    async def start_run(self):
        user = await self._current_user_async()
        if user is None:
            yield rx.redirect(LOGIN_ROUTE)
            return
        scenario = next((s for s in self.scenarios if s.name == self.scenario), None)
        if scenario is None:
            yield rx.toast.error("Please choose a scenario to run.")
            return
        if not self.start or not self.end:
            yield rx.toast.error("Please choose both a start date and an end date.")
            return
        self.starting = True
        yield
        try:
            run = await rx.run_in_thread(functools.partial(call_as_user, self.auth_token, runs.start_run, dict(
                scenario_id=scenario.id, solver=self.solver, subset_start=self.start, subset_end=self.end,
                resample=None if self.resample == NO_RESAMPLING else self.resample, notes=self.notes,
                cluster_days=self.cluster_days)))
        except EngageError as exc:
            self.starting = False
            yield rx.toast.error(exc.message, duration=10000)
            return
        self.starting, self.notes = False, ""
        yield RunsState.load
        advice = (f" The check found {_plural(self.check_warnings, 'warning')}: read them before trusting "
                  "its results." if self.check_warnings else "")
        message = f"Run #{run.id} is queued. Its status below updates by itself."
        yield rx.toast.success(message + advice, duration=10000) if advice else rx.toast.success(message)
