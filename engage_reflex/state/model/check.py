""""Check model" on the Overview: Engage's own checks at once, then Calliope's read from a worker."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time

import reflex as rx

from engage_reflex.schemas import ModelCheckView
from engage_reflex.services import model_check
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.auth import call_as_user
from engage_reflex.state.model.base import ModelEditorState

CALLIOPE_WAIT_S = 180  # a queue busy with other checks and builds may take a while


@dataclasses.dataclass(frozen=True)
class FindingRow:
    severity: str  # "warning" or "info"
    message: str
    hint: str
    area: str  # the editor area where it is fixed ("" for none)


def finding_rows(view: ModelCheckView) -> list[FindingRow]:
    return [FindingRow(f.severity, f.message, f.hint, f.area) for f in view.findings]


class CheckState(ModelEditorState):
    check_running: bool = False
    check_scenario: str = ""
    check_findings: list[FindingRow] = []
    check_problem: str = ""  # why the check itself could not run
    # "" (not asked) | "waiting" | "ok" | "refused" | "unknown"
    calliope_verdict: str = ""
    calliope_problem: str = ""

    @rx.event(background=True)
    async def check_now(self):
        async with self:
            if self.check_running:
                return
            self.check_running, self.check_problem, self.check_findings = True, "", []
            self.calliope_verdict, self.calliope_problem = "", ""
            token = self.auth_token
            try:
                model_id = self._current_model_id()
            except EngageError as exc:
                self.check_running, self.check_problem = False, exc.message
                return
        try:
            view, job_id = await rx.run_in_thread(functools.partial(
                call_as_user, token, model_check.start_model_check, {"model_id": model_id}))
        except (EngageError, LoginRequired) as exc:
            async with self:
                self.check_running, self.check_problem = False, exc.message
            return
        async with self:
            self.check_scenario, self.check_findings = view.scenario_name, finding_rows(view)
            self.calliope_verdict = "waiting"
        verdict, problem = "unknown", "Calliope did not answer in time; the workers may be busy. Try again later."
        deadline = time.monotonic() + CALLIOPE_WAIT_S
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            try:
                answer = await rx.run_in_thread(functools.partial(model_check.calliope_read_result, job_id))
            except EngageError as exc:
                problem = exc.message
                break
            if answer.done:
                verdict, problem = ("ok", "") if answer.ok else ("refused", answer.problem)
                break
        async with self:
            self.check_running, self.calliope_verdict, self.calliope_problem = False, verdict, problem
