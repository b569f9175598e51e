"""One technology's page: its essentials and the parameter editor."""

from __future__ import annotations

import threading

import reflex as rx

from engage_reflex.schemas.techs import ParameterRow, SeriesChoice
from engage_reflex.services import parameters, series_params, techs
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ModelEditorState

# Read Calliope's catalogue (its math YAML, ~0.4 s) while the web process starts, not on the
# first technology page a planner opens.
threading.Thread(target=parameters.catalogue, name="calliope-catalogue", daemon=True).start()


def filter_rows(rows: list[ParameterRow], search: str, category: str) -> list[ParameterRow]:
    """The rows whose name or title holds every word of `search`, in `category` ("all": any)."""
    words = search.lower().split()
    out = []
    for row in rows:
        if category not in ("", "all") and row.category != category:
            continue
        text = f"{row.name} {row.name.replace('_', ' ')} {row.title}".lower()
        if all(w in text for w in words):
            out.append(row)
    return out


def route_id(state: rx.State, what: str) -> int:
    """The id at the end of the page's address (/models/1/techs/<id>, /models/1/nodes/<id>)."""
    parts = state.router.url.path.rstrip("/").split("/")
    text = parts[-1] if parts else ""
    if not text.isdigit():
        raise EngageError(f"“{text}” is not a {what} number. Open the {what} from its list.")
    return int(text)


class TechState(ModelEditorState):
    loaded: bool = False
    error: str = ""
    current_tech: int = 0
    name: str = ""
    display_name: str = ""
    base_tech: str = ""
    color: str = ""
    description: str = ""
    carrier_in: str = ""
    carrier_out: str = ""
    carriers: list[str] = []
    cost_classes: list[str] = []
    usage_message: str = ""
    delete_open: bool = False
    search: str = ""
    category: str = "all"
    rows: list[ParameterRow] = []
    series_options: list[SeriesChoice] = []
    _all_rows: list[ParameterRow] = []

    @rx.event
    async def load(self):
        self.loaded, self.search, self.category = False, "", "all"
        await self._reload()

    async def _reload(self):
        self.error = ""
        try:
            model_id, tech_id = self._current_model_id(), route_id(self, "technology")
            view = await self._call(techs.tech_editor_view, model_id=model_id, tech_id=tech_id)
        except LoginRequired:
            return
        except EngageError as exc:
            self.error, self.loaded = exc.message, True
            return
        tech, self.carriers, self.cost_classes, self._all_rows = view.tech, view.carriers, view.cost_classes, view.rows
        self.current_tech, self.name, self.display_name = tech.id, tech.name, tech.display_name
        self.base_tech, self.color, self.description = tech.base_tech, tech.color, tech.description
        self.carrier_in = tech.carriers_in[0] if tech.carriers_in else ""
        self.carrier_out = tech.carriers_out[0] if tech.carriers_out else ""
        self.series_options = view.series
        self.rows = filter_rows(self._all_rows, self.search, self.category)
        self.loaded = True

    @rx.event
    def set_search(self, value: str):
        self.search = value
        self.rows = filter_rows(self._all_rows, self.search, self.category)

    @rx.event
    def set_category(self, value: str):
        self.category = value
        self.rows = filter_rows(self._all_rows, self.search, self.category)

    @rx.event
    def set_base_tech(self, value: str):
        self.base_tech = value

    @rx.event
    async def save_essentials(self, form: dict):
        carrier = form.get("carrier", "")
        ins = [form.get("carrier_in", "") or carrier] if self.base_tech != "supply" else []
        outs = [form.get("carrier_out", "") or carrier] if self.base_tech != "demand" else []
        result, toast = await self._edit(
            techs.update_tech, model_id=self.loaded_model_id, tech_id=self.current_tech, name=form.get("name", ""),
            display_name=form.get("display_name", ""), color=form.get("color", ""), base_tech=self.base_tech,
            description=form.get("description", ""), carriers_in=ins, carriers_out=outs,
            success="Saved the technology.")
        if result is not None:
            await self._reload()
        return toast

    @rx.event
    async def save_value(self, form: dict):
        result, toast = await self._edit(parameters.set_tech_parameter, tech_id=self.current_tech,
                                         name=form.get("param", ""), raw=form.get("raw", ""),
                                         cost_class=form.get("cost_class") or None)
        if result is None:
            return toast
        await self._reload()
        toasts = [rx.toast.success(result.message + ".")]
        toasts += [rx.toast.warning(f"Calliope warns: {w}", duration=10000) for w in result.warnings]
        return toasts

    @rx.event
    async def attach_series(self, form: dict):
        series_id = str(form.get("series_id") or "")
        if not series_id.isdigit():
            return rx.toast.error("Choose one of the model's timeseries first.")
        result, toast = await self._edit(series_params.attach_tech_series, tech_id=self.current_tech,
                                         name=form.get("param", ""), series_id=int(series_id),
                                         cost_class=form.get("cost_class") or None)
        if result is None:
            return toast
        await self._reload()
        return rx.toast.success(result.message + ".", duration=8000)

    @rx.event
    async def clear_value(self, name: str, cost_class: str):
        result, toast = await self._edit(parameters.clear_tech_parameter, tech_id=self.current_tech, name=name,
                                         cost_class=cost_class or None)
        if result is not None:
            await self._reload()
            return rx.toast.success(result.message + ".")
        return toast

    @rx.event
    async def ask_delete(self):
        try:
            usage = await self._call(techs.tech_usage, model_id=self.loaded_model_id, tech_id=self.current_tech)
        except EngageError as exc:
            return rx.toast.error(exc.message)
        self.usage_message, self.delete_open = usage.message, True

    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = value

    @rx.event
    async def confirm_delete(self):
        self.delete_open = False
        result, toast = await self._edit(techs.delete_tech, model_id=self.loaded_model_id, tech_id=self.current_tech,
                                         success=f"Deleted technology “{self.display_name or self.name}”.")
        if result is None:
            return toast
        return [toast, rx.redirect(f"/models/{self.loaded_model_id}/techs")]

