"""The links part of the Nodes & links page: transmission technologies between two locations."""

from __future__ import annotations

import reflex as rx

from engage_reflex.schemas.nodes import Choice, LinkView
from engage_reflex.services import nodes
from engage_reflex.services.errors import EngageError
from engage_reflex.state.model.base import ModelEditorState


class LinksState(ModelEditorState):
    links: list[LinkView] = []
    link_techs: list[Choice] = []
    link_locations: list[Choice] = []
    new_tech: str = ""
    new_from: str = ""
    new_to: str = ""
    new_name: str = ""
    adding: bool = False
    delete_open: bool = False
    delete_id: int = 0
    delete_text: str = ""

    @rx.event
    async def load_links(self):
        try:
            view = await self._call(nodes.list_links, model_id=self._current_model_id())
        except EngageError:
            return  # the grid shows the reason (same model, same rights)
        self.links, self.link_techs, self.link_locations = view.links, view.transmission_techs, view.locations
        if not any(str(c.id) == self.new_tech for c in view.transmission_techs):
            self.new_tech = str(view.transmission_techs[0].id) if view.transmission_techs else ""

    @rx.event
    def set_new_tech(self, value: str):
        self.new_tech = value

    @rx.event
    def set_new_from(self, value: str):
        self.new_from = value

    @rx.event
    def set_new_to(self, value: str):
        self.new_to = value

    @rx.event
    def set_new_name(self, value: str):
        self.new_name = value

    @rx.event
    async def add_link(self):
        if not self.new_tech or not self.new_from or not self.new_to:
            return rx.toast.error("Choose a transmission technology and the two locations it connects.")
        self.adding = True
        link, toast = await self._edit(nodes.add_link, model_id=self._current_model_id(),
                                       tech_id=int(self.new_tech), from_location_id=int(self.new_from),
                                       to_location_id=int(self.new_to), name=self.new_name or None)
        self.adding = False
        if link is None:
            return toast
        self.new_name = ""
        await self.load_links()
        return rx.toast.success(f"Linked “{link.from_location}” and “{link.to_location}” with "
                                f"“{link.tech_label}” (link “{link.name}”).")

    @rx.event
    def ask_delete(self, link_id: int):
        link = next((v for v in self.links if v.id == link_id), None)
        if link is None:
            return
        values = f" Its {link.override_count} own value(s) go with it." if link.override_count else ""
        self.delete_id, self.delete_open = link_id, True
        self.delete_text = (f"The link “{link.name}” between “{link.from_location}” and “{link.to_location}” is "
                            f"removed from the model and every scenario.{values}")

    @rx.event
    def cancel_delete(self):
        self.delete_open = False

    @rx.event
    async def delete_link(self):
        self.delete_open = False
        message, toast = await self._edit(nodes.delete_link, model_id=self._current_model_id(),
                                          link_id=self.delete_id)
        await self.load_links()
        return toast if message is None else rx.toast.success(message)
