"""The Runs page of a model: the form that starts a run (the live list is state/runs.py; the
advice shown before a run, its check and timeseries coverage, is state/model/run_check.py and its
size estimate state/model/run_estimate.py)."""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.schemas import LocationView, ScenarioView, TechView
from engage_reflex.services import models, runs
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.services.names import plural
from engage_reflex.state.auth import LOGIN_ROUTE, call_as_user
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.runs import RunsState

NO_RESAMPLING = "none"


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

    @rx.var
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    @rx.event
    async def load(self):
        self.loaded, self.error = False, ""
        try:
            model_id = self._current_model_id()
            detail = await rx.run_in_thread(functools.partial(call_as_user, self.auth_token, models.get_model_detail,
                                                              {"model_id": model_id}))
        except LoginRequired:  # the header load sends the visitor to the login page
            return
        except EngageError as exc:
            self.error, self.loaded = exc.message, True
            return
        self.time_start, self.time_end = detail.time_start, detail.time_end
        self.scenarios, self.technologies, self.locations = detail.scenarios, detail.technologies, detail.locations
        names = [s.name for s in detail.scenarios]
        # A visitor without a login sees the runs but cannot start one: no scenario is chosen, so
        # nothing is checked or estimated for them.
        self.scenario = "" if not self.user_email else "base" if "base" in names else (names[0] if names else "")
        self.solver, self.resample = "highs", NO_RESAMPLING
        # Dates the planner chose for this model stay when they come back to the page (or typed them
        # while it was loading); a new model, or dates outside its data, get the default period.
        chosen = (self.dates_model_id == model_id and self.start and self.end
                  and detail.time_start <= self.start <= self.end <= detail.time_end)
        if not chosen:
            self.start, self.end = detail.default_subset_start, detail.default_subset_end
        self.dates_model_id = model_id
        self.loaded = True

    @rx.event
    def set_scenario(self, value: str):
        self.scenario = value
        chosen = next((s for s in self.scenarios if s.name == value), None)
        if chosen is not None and chosen.subset_start:  # the scenario's own period, as a start
            self.start, self.end = chosen.subset_start, chosen.subset_end

    @rx.event
    def set_solver(self, value: str):
        self.solver = value

    @rx.event
    def set_start(self, value: str):
        self.start = value
        if value and self.end and self.end < value:
            self.end = value  # keep the span the right way round

    @rx.event
    def set_end(self, value: str):
        self.end = value

    @rx.event
    def set_resample(self, value: str):
        self.resample = value

    @rx.event
    def set_cluster_days(self, value: str):
        self.cluster_days = value

    @rx.event
    def set_notes(self, value: str):
        self.notes = value

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
        from engage_reflex.state.model.run_check import RunCheckState  # it reads this form

        warnings = (await self.get_state(RunCheckState)).check_warnings
        advice = (f" The check found {plural(warnings, 'warning')}: read them before trusting "
                  "its results." if warnings else "")
        message = f"Run #{run.id} is queued. Its status below updates by itself."
        yield rx.toast.success(message + advice, duration=10000) if advice else rx.toast.success(message)
