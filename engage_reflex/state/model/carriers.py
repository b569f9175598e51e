"""The Carriers page: the table and the add/edit/delete dialogs."""

from __future__ import annotations

import reflex as rx

from engage_reflex.schemas.locations import CarrierRow
from engage_reflex.services import carriers
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.locations import try_call


class CarriersState(ModelEditorState):
    loaded: bool = False
    error: str = ""
    rows: list[CarrierRow] = []
    # The add/edit dialog (edit_id 0 = a new carrier).
    form_open: bool = False
    edit_id: int = 0
    form_name: str = ""
    form_rate: str = "kW"
    form_quantity: str = "kWh"
    form_color: str = ""
    form_description: str = ""
    form_error: str = ""
    # The delete confirmation.
    delete_open: bool = False
    delete_id: int = 0
    delete_name: str = ""

    @rx.event
    async def load(self):
        self.loaded = False
        yield  # no flash of another model's carriers (the state outlives a page visit)
        await self._reload()

    async def _reload(self):
        self.error = ""
        try:
            self.rows = await self._call(carriers.list_carriers, model_id=self._current_model_id())
        except LoginRequired:
            return
        except EngageError as exc:
            self.error = exc.message
        self.loaded = True

    @rx.event
    def set_form_open(self, value: bool):
        self.form_open = value

    @rx.event
    def open_add(self):
        self.edit_id, self.form_name, self.form_rate, self.form_quantity = 0, "", "kW", "kWh"
        self.form_color = carriers.PALETTE[len(self.rows) % len(carriers.PALETTE)]
        self.form_description, self.form_error, self.form_open = "", "", True

    @rx.event
    def open_edit(self, carrier_id: int):
        row = next((r for r in self.rows if r.id == carrier_id), None)
        if row is not None:
            self.edit_id, self.form_name, self.form_rate, self.form_quantity = row.id, row.name, row.rate_unit, \
                row.quantity_unit
            self.form_color, self.form_description = row.color or carriers.PALETTE[0], row.description
            self.form_error, self.form_open = "", True

    @rx.event
    async def save_form(self, form: dict):
        fields = dict(model_id=self.loaded_model_id, name=form.get("name", ""), rate_unit=form.get("rate_unit", ""),
                      quantity_unit=form.get("quantity_unit", ""), color=form.get("color", ""),
                      description=form.get("description", ""))
        if self.edit_id:
            result, problem, events = await try_call(self, carriers.update_carrier, carrier_id=self.edit_id, **fields)
        else:
            result, problem, events = await try_call(self, carriers.add_carrier, **fields)
        if result is None:
            self.form_error = problem
            return events
        self.form_open = False
        await self._reload()
        return rx.toast.success(f"{'Saved' if self.edit_id else 'Added'} carrier “{result.name}”.")

    @rx.event
    def ask_delete(self, carrier_id: int):
        row = next((r for r in self.rows if r.id == carrier_id), None)
        if row is None:
            return
        if row.used_by:  # the service refuses too; say so before asking
            return rx.toast.error(f"“{row.name}” cannot be deleted: used by {', '.join(row.used_by)}. "
                                  "Change their carriers first.", duration=10000)
        self.delete_id, self.delete_name, self.delete_open = row.id, row.name, True

    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = value

    @rx.event
    async def confirm_delete(self):
        self.delete_open = False
        _, toast = await self._edit(carriers.delete_carrier, model_id=self.loaded_model_id,
                                    carrier_id=self.delete_id, success=f"Deleted carrier “{self.delete_name}”.")
        await self._reload()
        return toast
