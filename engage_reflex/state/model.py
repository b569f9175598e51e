"""The model page: what the model holds, and the form that starts a run."""

from __future__ import annotations

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.schemas import LocationView, ScenarioView, TechView
from engage_reflex.services import models, runs
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import LOGIN_ROUTE, AuthState
from engage_reflex.state.runs import RunsState

NO_RESAMPLING = "none"


class ModelState(AuthState):
    loaded: bool = False
    error: str = ""
    name: str = ""
    description: str = ""
    owner_email: str = ""
    is_public: bool = False
    can_edit: bool = False
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
    resample: str = NO_RESAMPLING
    starting: bool = False

    @rx.var
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    @rx.event
    def load(self):
        self.loaded, self.error = False, ""
        user = self._current_user()
        if user is None:
            return
        try:
            if not str(self.model_id).isdigit():
                raise EngageError(f"“{self.model_id}” is not a model number. Open a model from My models.")
            with session_scope() as session:
                detail = models.get_model_detail(session=session, user_id=user.id, model_id=int(self.model_id))
        except EngageError as exc:
            self.error, self.loaded = exc.message, True
            return
        self.name, self.description, self.owner_email = detail.name, detail.description, detail.owner_email
        self.is_public, self.can_edit = detail.is_public, detail.can_edit
        self.time_start, self.time_end = detail.time_start, detail.time_end
        self.scenarios, self.technologies, self.locations = detail.scenarios, detail.technologies, detail.locations
        names = [s.name for s in detail.scenarios]
        self.scenario = "base" if "base" in names else (names[0] if names else "")
        self.solver, self.resample = "highs", NO_RESAMPLING
        self.start, self.end = detail.default_subset_start, detail.default_subset_end
        self.loaded = True

    @rx.event
    def set_scenario(self, value: str):
        self.scenario = value

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
    def start_run(self):
        user = self._current_user()
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
            with session_scope() as session:
                run = runs.start_run(
                    session=session, user_id=user.id, scenario_id=scenario.id, solver=self.solver,
                    subset_start=self.start, subset_end=self.end,
                    resample=None if self.resample == NO_RESAMPLING else self.resample,
                )
        except EngageError as exc:
            self.starting = False
            yield rx.toast.error(exc.message, duration=10000)
            return
        self.starting = False
        yield RunsState.load
        yield rx.toast.success(f"Run #{run.id} is queued. Its status below updates by itself.")
