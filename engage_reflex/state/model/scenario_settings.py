"""The Scenarios page's settings form (mode, objective weights, storage, feasibility, period)."""

from __future__ import annotations

import reflex as rx

from engage_reflex.services import scenarios
from engage_reflex.state.model.locations import try_call
from engage_reflex.state.model.scenarios import ScenariosState


class ScenarioSettingsState(ScenariosState):
    settings_error: str = ""
    # The mode picked in the form (it decides which extra fields show) before it is saved.
    picked_mode: str = ""

    @rx.var
    def shown_mode(self) -> str:
        return self.picked_mode or self.detail.settings.mode

    @rx.var
    def weight_rows(self) -> list[list[str]]:
        """[cost class, weight] for every cost class of the model (1 unless the scenario says otherwise)."""
        weights = self.detail.settings.objective_weights
        return [[cost_class, weights.get(cost_class, "1")] for cost_class in self.detail.cost_classes]

    @rx.var
    def settings_key(self) -> str:
        # The form's inputs start from the loaded values again when another scenario is shown.
        return f"settings-{self.detail.id}-{self.detail.settings}"

    @rx.event
    def pick_mode(self, value: str):
        self.picked_mode = value

    @rx.event
    async def save_settings(self, form: dict):
        weights = {key.removeprefix("weight__"): str(value) for key, value in form.items()
                   if key.startswith("weight__")}
        result, problem, events = await try_call(
            self, scenarios.update_settings, scenario_id=self.selected_id, mode=self.shown_mode,
            operate_window=form.get("operate_window", "24h"), operate_horizon=form.get("operate_horizon", "48h"),
            spores_number=form.get("spores_number", "3"), objective_weights=weights,
            cyclic_storage=bool(form.get("cyclic_storage")), ensure_feasibility=bool(form.get("ensure_feasibility")),
            subset_start=form.get("subset_start", ""), subset_end=form.get("subset_end", ""),
            resample=form.get("resample", ""))
        if result is None:
            self.settings_error = problem
            return events
        self.settings_error, self.picked_mode = "", ""
        await self._reload()
        return rx.toast.success(f"Saved the settings of “{self.detail.name}”.")
