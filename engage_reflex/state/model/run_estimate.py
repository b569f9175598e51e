"""The Run form's size and time estimate (services/run_estimate.py), redrawn when the form changes."""

from __future__ import annotations

import functools
import logging

import reflex as rx

from engage_reflex.services import run_estimate
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.auth import AuthState, call_as_user
from engage_reflex.state.model.runs import NO_RESAMPLING, RunFormState

log = logging.getLogger(__name__)


class RunEstimateState(AuthState):
    estimate: str = ""  # what the form shows under its fields ("" while nothing is chosen)
    estimate_problem: bool = False  # the form's values cannot be estimated (e.g. too many representative days)

    @rx.event(background=True, supersedes=True)
    async def refresh(self):
        async with self:
            form = await self.get_state(RunFormState)
            scenario = next((s for s in form.scenarios if s.name == form.scenario), None)
            token = self.auth_token
            asked = dict(start=form.start, end=form.end, solver=form.solver, cluster_days=form.cluster_days,
                         resample=None if form.resample == NO_RESAMPLING else form.resample)
            if scenario is None or not form.start or not form.end:
                self.estimate, self.estimate_problem = "", False
                return
        try:
            view = await rx.run_in_thread(functools.partial(
                call_as_user, token, run_estimate.estimate_run, dict(scenario_id=scenario.id, **asked)))
            text, problem = view.text, False
        except LoginRequired:
            return
        except EngageError as exc:
            text, problem = exc.message, True
        except Exception:  # an estimate is advice: it must never stop a run
            log.exception("Estimating a run of scenario %s failed", scenario.id)
            text, problem = "", False
        async with self:
            self.estimate, self.estimate_problem = text, problem
