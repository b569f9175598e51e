"""The Timeseries page: the model's series, a preview chart of one (detail loads on zoom), rename, delete."""

from __future__ import annotations

import dataclasses

import plotly.graph_objects as go
import reflex as rx

from engage_reflex.charts.timeseries import series_figure
from engage_reflex.schemas.timeseries import SeriesPreview
from engage_reflex.services import timeseries
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ModelEditorState


@dataclasses.dataclass(frozen=True)
class SeriesListRow:
    id: int
    name: str
    unit: str
    span: str
    count: str  # how many values, formatted
    step: str
    source: str
    used_by: str


def _step(minutes: int) -> str:
    if minutes and minutes % 60 == 0:
        return "hourly" if minutes == 60 else f"every {minutes // 60} h"
    return f"every {minutes} min" if minutes else ""


def _number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"


class TimeseriesState(ModelEditorState):
    loaded: bool = False
    error: str = ""
    series: list[SeriesListRow] = []
    selected_id: int = 0
    figure: go.Figure = go.Figure()
    preview_name: str = ""
    coverage: str = ""
    detail: str = ""
    gaps: list[str] = []
    summary: list[list[str]] = []
    rename_open: bool = False
    delete_open: bool = False

    @rx.event
    async def load(self):
        self.loaded, self.error = False, ""
        yield
        await self._reload()
        if self.series and self.selected_id not in {s.id for s in self.series}:
            self.selected_id = self.series[0].id
        await self._preview()
        self.loaded = True

    async def _reload(self) -> None:
        try:
            rows = await self._call(timeseries.list_series, model_id=self._current_model_id())
        except LoginRequired:
            return
        except EngageError as exc:
            self.error = exc.message
            return
        self.series = [SeriesListRow(r.id, r.name, r.unit, f"{r.start} – {r.end}", f"{r.length:,}",
                                     _step(r.step_minutes), r.source_filename, "; ".join(r.used_by)) for r in rows]

    async def _preview(self, start: str = "", end: str = "") -> None:
        if not self.selected_id:
            self.figure, self.preview_name = go.Figure(), ""
            return
        try:
            preview: SeriesPreview = await self._call(
                timeseries.preview_zoom, model_id=self.loaded_model_id, series_id=self.selected_id,
                start_text=start, end_text=end)
        except (EngageError, LoginRequired) as exc:  # e.g. deleted in another tab: the list stays usable
            self.selected_id, self.figure, self.preview_name = 0, go.Figure(), ""
            self.detail, self.gaps, self.summary = exc.message, [], []
            return
        self.figure = series_figure(preview)
        self.preview_name = preview.name
        self.coverage = f"{preview.first} – {preview.last} ({preview.time_zone}), {_step(preview.step_minutes)}"
        shown = "every value" if preview.drawn >= preview.total else (
            f"{preview.drawn:,} of {preview.total:,} points (the highest and lowest of each stretch); "
            "zoom in for detail")
        self.detail = f"Showing {shown}."
        self.gaps = list(preview.gaps)
        self.summary = [["Lowest", _number(preview.minimum)], ["Highest", _number(preview.maximum)],
                        ["Mean", _number(preview.mean)], ["Sum", _number(preview.total_sum)],
                        ["Values", f"{preview.total:,}"]]

    @rx.event
    async def select(self, series_id: int):
        self.selected_id = series_id
        await self._preview()

    @rx.event
    async def zoomed(self, start: str, end: str):
        """The planner zoomed or panned the chart: load that window in detail ("auto" = all again)."""
        if start == "auto":
            await self._preview()
        elif start and end:
            await self._preview(start, end)

    @rx.event
    async def reload_after_upload(self, stored: list[str]):
        await self._reload()
        fresh = [s for s in self.series if s.name in stored]
        if fresh:
            self.selected_id = fresh[0].id
        await self._preview()

    @rx.event
    def set_rename_open(self, value: bool):
        self.rename_open = value

    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = value

    @rx.event
    async def rename(self, form: dict):
        row, toast = await self._edit(timeseries.rename_series, model_id=self.loaded_model_id,
                                      series_id=self.selected_id, name=str(form.get("name", "")))
        if row is None:
            return toast
        self.rename_open = False
        await self._reload()
        await self._preview()
        return rx.toast.success(f"Renamed the series to “{row.name}”.")

    @rx.event
    async def delete(self):
        self.delete_open = False
        name, toast = await self._edit(timeseries.delete_series, model_id=self.loaded_model_id,
                                       series_id=self.selected_id)
        if name is None:
            return toast
        self.selected_id = 0
        await self._reload()
        if self.series:
            self.selected_id = self.series[0].id
        await self._preview()
        return rx.toast.success(f"Deleted the series “{name}”.")
