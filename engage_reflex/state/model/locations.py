"""The Locations page: the map, the table, the add/edit/delete dialogs and the CSV round trip."""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx

from engage_reflex.services import locations
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.auth import LOGIN_ROUTE
from engage_reflex.state.model.base import ModelEditorState

log = logging.getLogger(__name__)
TABLE_LIMIT = 50


def _num(value: float | None) -> str:
    return "" if value is None else format(value, ".10g")


@dataclasses.dataclass(frozen=True)
class TableRow:
    id: int
    name: str
    lat: str
    lon: str
    area: str
    description: str
    nodes: int
    links: int


async def try_call(state: ModelEditorState, service, /, **kwargs) -> tuple[object | None, str, list]:
    """(result, "", []) or (None, the refusal in planner words, events to run): for dialogs that
    show the message beside the form instead of in a toast."""
    try:
        return await state._call(service, **kwargs), "", []
    except LoginRequired as exc:
        return None, exc.message, [rx.redirect(LOGIN_ROUTE)]
    except EngageError as exc:
        return None, exc.message, []
    except Exception:
        log.exception("%s failed", getattr(service, "__name__", service))
        return None, "Something went wrong on our side; nothing was changed. Please try again.", []


class LocationsState(ModelEditorState):
    loaded: bool = False
    error: str = ""
    rows: list[TableRow] = []
    markers: list[dict] = []
    lines: list[dict] = []
    # The map fits its markers again when this changes (a model's data arrives, not on edits).
    map_fit_key: str = ""
    filter_text: str = ""
    # The add/edit dialog (edit_id 0 = a new location).
    form_open: bool = False
    edit_id: int = 0
    form_name: str = ""
    form_lat: str = ""
    form_lon: str = ""
    form_area: str = ""
    form_error: str = ""
    # The delete confirmation.
    delete_open: bool = False
    delete_id: int = 0
    delete_name: str = ""
    delete_techs: list[str] = []
    delete_links: list[str] = []

    @rx.var
    def shown_rows(self) -> list[TableRow]:
        needle = self.filter_text.strip().lower()
        return [r for r in self.rows if needle in r.name.lower()][:TABLE_LIMIT]

    @rx.var
    def hidden_count(self) -> int:
        needle = self.filter_text.strip().lower()
        return max(0, sum(1 for r in self.rows if needle in r.name.lower()) - TABLE_LIMIT)

    @rx.event
    async def load(self):
        self.loaded = False
        yield  # no flash of another model's locations (the state outlives a page visit)
        await self._reload()

    async def _reload(self):
        self.error = ""
        try:
            model_id = self._current_model_id()
            found = await self._call(locations.list_locations, model_id=model_id)
            links = await self._call(locations.list_map_links, model_id=model_id)
        except LoginRequired:
            return
        except EngageError as exc:
            self.error, self.loaded = exc.message, True
            return
        self.rows = [TableRow(id=r.id, name=r.name, lat=_num(r.latitude), lon=_num(r.longitude),
                              area=_num(r.available_area), description=r.description, nodes=r.nodes, links=r.links)
                     for r in found]
        self.markers = [{"id": r.id, "name": r.name, "lat": r.latitude, "lon": r.longitude}
                        for r in found if r.latitude is not None]
        self.lines = [{"id": k.id, "name": f"{k.name} ({k.from_location} – {k.to_location})",
                       "from": [k.from_lat, k.from_lon], "to": [k.to_lat, k.to_lon]} for k in links]
        self.map_fit_key = str(model_id)
        self.loaded = True

    @rx.event
    def set_filter_text(self, value: str):
        self.filter_text = value

    def _open_form(self, edit_id: int, name: str, lat: str, lon: str, area: str):
        self.edit_id, self.form_name, self.form_lat, self.form_lon, self.form_area = edit_id, name, lat, lon, area
        self.form_error, self.form_open = "", True

    @rx.event
    def map_clicked(self, lat: float, lon: float):
        if self.can_edit:
            self._open_form(0, "", _num(round(lat, 4)), _num(round(lon, 4)), "")

    @rx.event
    def open_add(self):
        self._open_form(0, "", "", "", "")

    @rx.event
    def open_edit(self, location_id: int):
        row = next((r for r in self.rows if r.id == location_id), None)
        if row is not None:
            self._open_form(row.id, row.name, row.lat, row.lon, row.area)

    @rx.event
    def set_form_open(self, value: bool):
        self.form_open = value

    @rx.event
    async def save_form(self, form: dict):
        fields = dict(model_id=self.loaded_model_id, name=form.get("name", ""), latitude=form.get("latitude"),
                      longitude=form.get("longitude"), available_area=form.get("available_area"))
        if self.edit_id:
            result, problem, events = await try_call(self, locations.update_location, location_id=self.edit_id, **fields)
        else:
            result, problem, events = await try_call(self, locations.add_location, **fields)
        if result is None:
            self.form_error = problem
            return events
        self.form_open = False
        await self._reload()
        return rx.toast.success(f"{'Saved' if self.edit_id else 'Added'} location “{result.name}”.")

    @rx.event
    async def marker_moved(self, location_id: int, lat: float, lon: float):
        result, toast = await self._edit(locations.move_location, model_id=self.loaded_model_id,
                                         location_id=location_id, latitude=lat, longitude=lon)
        await self._reload()  # on refusal too: the marker goes back to where it is saved
        if result is not None:
            toast = rx.toast.success(f"Moved “{result.name}” to {result.latitude:.4f}, {result.longitude:.4f}.")
        return toast

    @rx.event
    async def ask_delete(self, location_id: int):
        impact, problem, events = await try_call(self, locations.deletion_impact, model_id=self.loaded_model_id,
                                                  location_id=location_id)
        if impact is None:
            return [rx.toast.error(problem), *events]
        self.delete_id, self.delete_name = impact.location_id, impact.name
        self.delete_techs, self.delete_links, self.delete_open = impact.techs, impact.links, True

    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = value

    @rx.event
    async def confirm_delete(self):
        self.delete_open = False
        result, toast = await self._edit(locations.delete_location, model_id=self.loaded_model_id,
                                         location_id=self.delete_id, success=f"Deleted location “{self.delete_name}”.")
        await self._reload()
        return toast

    @rx.event
    async def download_csv(self):
        text, problem, events = await try_call(self, locations.export_locations_csv, model_id=self.loaded_model_id)
        if text is None:
            return [rx.toast.error(problem), *events]
        return rx.download(data=text, filename=f"locations-model-{self.loaded_model_id}.csv")

    @rx.event
    async def upload_csv(self, files: list[rx.UploadFile]):
        if not files:
            return rx.toast.error("Choose a CSV file first.")
        content = await files[0].read(locations.CSV_MAX_BYTES + 1)
        report, toast = await self._edit(locations.import_locations_csv, model_id=self.loaded_model_id,
                                         content=content)
        if report is None:
            return toast
        await self._reload()
        return rx.toast.success(report.summary)
