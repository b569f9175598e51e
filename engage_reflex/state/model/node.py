"""One node's page: a technology at a location, its overrides with the inheritance visible."""

from __future__ import annotations

import reflex as rx

from engage_reflex.schemas.techs import ParameterRow, SeriesChoice
from engage_reflex.services import parameters, series_params
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.tech import filter_rows, route_id


class NodeState(ModelEditorState):
    loaded: bool = False
    error: str = ""
    current_node: int = 0
    location: str = ""
    node_tech_id: int = 0
    node_tech_name: str = ""
    node_tech_label: str = ""
    node_base_tech: str = ""
    cost_classes: list[str] = []
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
            model_id, node_id = self._current_model_id(), route_id(self, "node")
            view = await self._call(parameters.node_editor_view, model_id=model_id, node_id=node_id)
        except LoginRequired:
            return
        except EngageError as exc:
            self.error, self.loaded = exc.message, True
            return
        header, self.cost_classes, self._all_rows = view.header, view.cost_classes, view.rows
        self.current_node, self.location = header.node_id, header.location
        self.node_tech_id, self.node_tech_name = header.tech_id, header.tech_name
        self.node_tech_label, self.node_base_tech = header.tech_display_name, header.base_tech
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
    async def save_value(self, form: dict):
        result, toast = await self._edit(parameters.set_node_parameter, node_id=self.current_node,
                                         name=form.get("param", ""), raw=form.get("raw", ""),
                                         cost_class=form.get("cost_class") or None)
        if result is None:
            return toast
        await self._reload()
        return [rx.toast.success(result.message + "."),
                *[rx.toast.warning(f"Calliope warns: {w}", duration=10000) for w in result.warnings]]

    @rx.event
    async def attach_series(self, form: dict):
        series_id = str(form.get("series_id") or "")
        if not series_id.isdigit():
            return rx.toast.error("Choose one of the model's timeseries first.")
        result, toast = await self._edit(series_params.attach_node_series, node_id=self.current_node,
                                         name=form.get("param", ""), series_id=int(series_id),
                                         cost_class=form.get("cost_class") or None)
        if result is None:
            return toast
        await self._reload()
        return rx.toast.success(result.message + ".", duration=8000)

    @rx.event
    async def clear_value(self, name: str, cost_class: str):
        result, toast = await self._edit(parameters.clear_node_parameter, node_id=self.current_node, name=name,
                                         cost_class=cost_class or None)
        if result is not None:
            await self._reload()
            return rx.toast.success(result.message + ".")
        return toast
