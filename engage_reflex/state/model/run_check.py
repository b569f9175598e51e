"""The Run form's advice before a run: the pre-run check of the chosen scenario and dates
(services/model_check.py) and whether its timeseries cover the dates (services/coverage.py).

The check runs in a thread from a background event, again whenever the scenario or the dates
change (the page chains it after each of those fields), and its findings show above the Run
button. They are advice: the run can still be started, except that start_run refuses a period
the timeseries do not cover, so the form says so before Run is pressed.
"""

from __future__ import annotations

import functools
import logging

import plotly.graph_objects as go
import reflex as rx

from engage_reflex.charts.coverage import coverage_timeline
from engage_reflex.db import session_scope
from engage_reflex.schemas import ModelCheckView
from engage_reflex.services import coverage, model_check
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.services.names import plural
from engage_reflex.state.auth import AuthState, call_as_user, lookup_user
from engage_reflex.state.model.check import FindingRow, finding_rows
from engage_reflex.state.model.runs import RunFormState

log = logging.getLogger(__name__)


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


def check_title(view: ModelCheckView) -> str:
    parts = [plural(len(view.warnings), "warning")] if view.warnings else []
    parts += [plural(len(view.infos), "note")] if view.infos else []
    return "Before you run: " + " and ".join(parts) if parts else ""


class RunCheckState(AuthState):
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

    @rx.event(background=True, supersedes=True)
    async def check(self):
        """Show the timeseries coverage of the chosen dates, then check the scenario, off the event loop."""
        async with self:
            form = await self.get_state(RunFormState)
            scenario = next((s for s in form.scenarios if s.name == form.scenario), None)
            asked = (form.scenario, form.start, form.end)
            token = self.auth_token
            if scenario is None:
                self.checking, self.check_done, self.findings, self.coverage_state = False, False, [], ""
                return
            self.checking, self.check_error = True, ""
        shown = await _coverage_shown(token, scenario.id, asked[1], asked[2])
        async with self:
            form = await self.get_state(RunFormState)
            if (form.scenario, form.start, form.end) != asked:
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
            form = await self.get_state(RunFormState)
            if (form.scenario, form.start, form.end) != asked:
                return  # the form changed meanwhile; its own check is on the way
            # No view and no error: the login is gone (the page sends the visitor to log in).
            self.checking, self.check_done, self.check_error = False, view is not None or bool(error), error
            if view is None:
                self.findings, self.check_title, self.check_warnings = [], "", 0
                return
            self.findings = finding_rows(view)
            self.check_title = check_title(view)
            self.check_warnings = len(view.warnings)
