"""The Scenarios page's group constraints: the list, and the add/edit dialog built from a template."""

from __future__ import annotations

import dataclasses

import reflex as rx

from engage_reflex.services import group_constraints, scenarios
from engage_reflex.state.model.locations import try_call
from engage_reflex.state.model.scenarios import ScenariosState

CHOICE_KINDS = ("techs", "locations")  # many ticks
NUMBER_KINDS = ("number", "fraction")


@dataclasses.dataclass(frozen=True)
class Option:
    item: str
    checked: bool


@dataclasses.dataclass(frozen=True)
class FieldView:
    """One field of the dialog: what the template asks, with the model's names to choose from."""

    key: str
    label: str
    kind: str
    hint: str
    value: str
    options: list[Option]
    choices: list[str]


class ScenarioConstraintsState(ScenariosState):
    constraint_open: bool = False
    constraint_id: int = 0  # 0: a new constraint
    constraint_template: str = "max_capacity"
    constraint_name: str = ""
    constraint_params: dict = {}
    constraint_error: str = ""

    @rx.var
    def template_choices(self) -> list[list[str]]:
        return [[key, t.title] for key, t in group_constraints.TEMPLATES.items()]

    @rx.var
    def template_description(self) -> str:
        template = group_constraints.TEMPLATES.get(self.constraint_template)
        return template.description if template else ""

    @rx.var
    def constraint_fields(self) -> list[FieldView]:
        template = group_constraints.TEMPLATES.get(self.constraint_template)
        if template is None:
            return []
        names = {"techs": self.detail.techs, "locations": self.detail.location_names, "carrier": self.detail.carriers,
                 "cost_class": self.detail.cost_classes}
        fields = []
        for f in template.fields:
            value = self.constraint_params.get(f.key, [] if f.kind in CHOICE_KINDS else "")
            chosen = set(value) if isinstance(value, list) else set()
            fields.append(FieldView(
                key=f.key, label=f.label, kind=f.kind, hint=f.hint, value="" if isinstance(value, list) else str(value),
                options=[Option(item=n, checked=n in chosen) for n in names.get(f.kind, [])] if f.kind in CHOICE_KINDS
                else [], choices=list(names.get(f.kind, []))))
        return fields

    @rx.event
    def open_constraint(self, constraint_id: int):
        row = next((c for c in self.constraints if c.id == constraint_id), None)
        self.constraint_id = row.id if row else 0
        self.constraint_template = row.template if row else "max_capacity"
        self.constraint_name = row.name if row else ""
        self.constraint_params = dict(row.params) if row else {}
        self.constraint_error, self.constraint_open = "", True

    @rx.event
    def set_constraint_open(self, value: bool):
        self.constraint_open = value

    @rx.event
    def pick_template(self, value: str):
        self.constraint_template, self.constraint_params = value, {}

    def _params(self, form: dict) -> dict:
        params: dict = {}
        for f in self.constraint_fields:
            if f.kind in CHOICE_KINDS:
                params[f.key] = [k.split("__", 1)[1] for k, v in form.items() if k.startswith(f.key + "__") and v]
            else:
                text = str(form.get(f.key, "")).strip().replace(",", ".") if f.kind in NUMBER_KINDS else \
                    str(form.get(f.key, "")).strip()
                if text:
                    params[f.key] = text
        return params

    @rx.event
    async def save_constraint(self, form: dict):
        params = self._params(form)
        self.constraint_params = params
        if self.constraint_id:
            result, problem, events = await try_call(self, scenarios.update_constraint,
                                                     constraint_id=self.constraint_id,
                                                     name=form.get("name", ""), params=params)
        else:
            result, problem, events = await try_call(self, scenarios.add_constraint, scenario_id=self.selected_id,
                                                     name=form.get("name", ""), template=self.constraint_template,
                                                     params=params)
        if result is None:
            self.constraint_error = problem
            return events
        self.constraint_open = False
        await self._reload()
        return rx.toast.success(f"Saved the constraint “{result.name}”: {result.summary}")

    @rx.event
    async def delete_constraint(self, constraint_id: int):
        result, toast = await self._edit(scenarios.delete_constraint, constraint_id=constraint_id)
        await self._reload()
        return toast if result is None else rx.toast.success(result)
