"""The Nodes & links page: the placement grid (locations x technologies) and the links.

The grid holds one page of locations; a cell is a node id (0 = not placed), so a page of
25 x 30 cells stays small. Every edit calls one service and reloads the page of the grid.
"""

from __future__ import annotations

import reflex as rx

from engage_reflex.schemas.nodes import GridRow, GridTech, TechGroup
from engage_reflex.services import nodes
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ModelEditorState

PAGE_SIZE = nodes.GRID_PAGE_SIZE


class NodesState(ModelEditorState):
    grid_loaded: bool = False
    grid_error: str = ""
    techs: list[GridTech] = []
    groups: list[TechGroup] = []
    rows: list[GridRow] = []
    offset: int = 0
    matching_locations: int = 0
    total_locations: int = 0
    total_techs: int = 0
    total_nodes: int = 0
    location_filter: str = ""
    tech_filter: str = ""
    column_tech: str = ""  # id of the technology the column actions apply to
    busy: bool = False
    # The confirmation of a removal: what (node / column), which id, and what it says.
    confirm_open: bool = False
    confirm_kind: str = ""
    confirm_id: int = 0
    confirm_title: str = ""
    confirm_text: str = ""

    @rx.var
    def page_label(self) -> str:
        if not self.rows:
            return ""
        return f"Locations {self.offset + 1}–{self.offset + len(self.rows)} of {self.matching_locations}"

    @rx.var
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.matching_locations

    @rx.var
    def column_label(self) -> str:
        return next((t.label for t in self.techs if str(t.id) == self.column_tech), "")

    @rx.var
    def where_label(self) -> str:
        text = self.location_filter.strip()
        return f"every location matching “{text}”" if text else "every location"

    @rx.event
    async def load(self):
        self.grid_error = ""
        try:
            grid = await self._call(nodes.placement_grid, model_id=self._current_model_id(),
                                    location_filter=self.location_filter, tech_filter=self.tech_filter,
                                    offset=self.offset, limit=PAGE_SIZE)
        except LoginRequired:
            return
        except EngageError as exc:
            self.grid_error, self.grid_loaded = exc.message, True
            return
        self.techs, self.groups, self.rows, self.offset = grid.techs, grid.groups, grid.rows, grid.offset
        self.matching_locations, self.total_locations = grid.matching_locations, grid.total_locations
        self.total_techs, self.total_nodes = grid.total_techs, grid.total_nodes
        if not any(str(t.id) == self.column_tech for t in grid.techs):
            self.column_tech = str(grid.techs[0].id) if grid.techs else ""
        self.grid_loaded = True

    @rx.event
    async def set_location_filter(self, value: str):
        self.location_filter, self.offset = value, 0
        await self.load()

    @rx.event
    async def set_tech_filter(self, value: str):
        self.tech_filter = value
        await self.load()

    @rx.event
    def set_column_tech(self, value: str):
        self.column_tech = value

    @rx.event
    async def next_page(self):
        self.offset += PAGE_SIZE
        await self.load()

    @rx.event
    async def previous_page(self):
        self.offset = max(0, self.offset - PAGE_SIZE)
        await self.load()

    async def _run(self, service, **kwargs):
        """One edit; the service's own message is the toast. The grid is reloaded either way."""
        self.busy = True
        result, toast = await self._edit(service, model_id=self._current_model_id(), **kwargs)
        self.busy = False
        await self.load()
        if result is None:
            return toast
        changed = getattr(result, "changed", None)
        if changed is None:
            changed = getattr(result, "count", 1) > 0
        return rx.toast.success(result.message) if changed else rx.toast.info(result.message)

    @rx.event
    async def toggle(self, location_id: int, tech_id: int, node_id: int):
        if not self.can_edit:
            return rx.toast.error("You can view this model but not change it.")
        if not node_id:
            return await self._run(nodes.place_tech, location_id=location_id, tech_id=tech_id)
        try:
            node = await self._call(nodes.get_node, model_id=self._current_model_id(), node_id=node_id)
        except EngageError as exc:
            await self.load()
            return rx.toast.error(exc.message)
        if not node.override_count:
            return await self._run(nodes.remove_node, node_id=node_id)
        self._ask("node", node_id, f"Remove “{node.tech_label}” from “{node.location_name}”?",
                  f"This node has {node.override_count} own value(s) (overrides of the technology's values). "
                  "They are removed with it, in every scenario.")

    @rx.event
    async def place_column(self):
        return await self._run(nodes.place_tech_everywhere, tech_id=int(self.column_tech or 0),
                               location_filter=self.location_filter)

    @rx.event
    def ask_remove_column(self):
        tech = next((t for t in self.techs if str(t.id) == self.column_tech), None)
        if tech is None:
            return rx.toast.error("Choose a technology first.")
        values = f" and {tech.override_count} own value(s) of its nodes" if tech.override_count else ""
        self._ask("column", tech.id, f"Remove “{tech.label}” from {self.where_label}?",
                  f"It is placed at {tech.node_count} location(s) in the whole model. Those nodes{values} "
                  "are removed, in every scenario. The technology itself stays.")

    @rx.event
    async def place_row(self, location_id: int):
        return await self._run(nodes.place_all_at_location, location_id=location_id, tech_filter=self.tech_filter)

    def _ask(self, kind: str, item_id: int, title: str, text: str) -> None:
        self.confirm_kind, self.confirm_id, self.confirm_title, self.confirm_text = kind, item_id, title, text
        self.confirm_open = True

    @rx.event
    def cancel_confirm(self):
        self.confirm_open = False

    @rx.event
    async def confirm(self):
        self.confirm_open = False
        if self.confirm_kind == "node":
            return await self._run(nodes.remove_node, node_id=self.confirm_id)
        return await self._run(nodes.remove_tech_everywhere, tech_id=self.confirm_id,
                               location_filter=self.location_filter)
