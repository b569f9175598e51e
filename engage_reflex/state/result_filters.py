"""The results page's figures and filters (carrier, location, technology, cost class, period).

A filter change redraws only the figures it changes (a new period: dispatch and storage level),
in a worker thread; the page itself is not reloaded. The first look draws the figures that do
not depend on time first, and sends them before the dispatch and storage level.
"""

from __future__ import annotations

import datetime as dt
import functools

import plotly.graph_objects as go
import reflex as rx

from engage_reflex.state.result_drawing import ALL_NODES, ALL_TECHS, OVER_TIME, OVERVIEW, Filters, read_and_draw
from engage_reflex.state.results import ResultsState

PERIODS = {"all": "Whole run", "month": "A month", "week": "A week", "custom": "Chosen days"}
_PERIOD_DAYS = {"week": 7, "month": 31}
_BY_FILTER = {
    "carrier": ("capacity", "map", "levelised", "capacity_factors", "dispatch"),
    "node": ("capacity_factors", "dispatch", "storage"),
    "tech": ("capacity", "storage_capacity", "costs", "dispatch", "storage"),
    "cost_class": ("costs", "levelised"),
    "stacked": ("capacity", "storage_capacity"),
    "period": OVER_TIME,
}


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


class ResultFiguresState(ResultsState):
    carrier: str = ""
    node: str = ALL_NODES
    tech: str = ALL_TECHS
    cost_class: str = ""
    stacked: bool = True
    period: str = "all"
    start: str = ""
    end: str = ""
    period_error: str = ""  # chosen days out of order: said, and nothing redrawn until mended
    capacity_plot: go.Figure = go.Figure()
    storage_capacity_plot: go.Figure = go.Figure()
    costs_plot: go.Figure = go.Figure()
    levelised_plot: go.Figure = go.Figure()
    capacity_factors_plot: go.Figure = go.Figure()
    map_plot: go.Figure = go.Figure()
    dispatch_plot: go.Figure = go.Figure()
    storage_plot: go.Figure = go.Figure()
    dispatch_note: str = ""
    storage_note: str = ""
    # 0: nothing drawn yet, 1: the capacity, 2: every figure but dispatch and storage level, 3: all.
    # A figure is put on the page once drawn: an empty plotly figure costs the browser as much.
    stage: int = 0

    def _filters(self) -> Filters:
        start, end = self._span()
        return Filters(carrier=self.carrier, node=self.node, tech=self.tech, start=start, end=end,
                       cost_class=self.cost_class, stacked=self.stacked)

    def _span(self) -> tuple[str, str]:
        """First and last day of the chosen period ("" = the run's own)."""
        if self.period == "all":
            return "", ""
        first = _day(self.start) or _day(self.first_day)
        if first is None:
            return "", ""
        if self.period == "custom":
            last = _day(self.end) or _day(self.last_day) or first
        else:
            last = first + dt.timedelta(days=_PERIOD_DAYS[self.period] - 1)
        return first.isoformat(), max(last, first).isoformat()

    async def _draw(self, parts: tuple[str, ...]):
        got = await rx.run_in_thread(functools.partial(read_and_draw, self.auth_token, self.run_id,
                                                       self._filters(), parts))
        if got.login_needed:
            return rx.toast.error("Please log in again to see these results.")
        if got.error:
            self.error = got.error
            return
        for part, figure in got.figures.items():
            setattr(self, f"{part}_plot", figure)
        if "dispatch" in parts:
            self.dispatch_note = got.dispatch_note
        if "storage" in parts:
            self.storage_note = got.storage_note

    @rx.event
    async def load(self):
        """The page's first look: summary and capacity in one read (the main carrier and cost class,
        whole run); the browser asks for the other figures once it has drawn the capacity (draw_rest)."""
        self.loaded, self.error, self.title, self.stage = False, "", "", 0
        got = await rx.run_in_thread(functools.partial(read_and_draw, self.auth_token, self.run_id, None,
                                                       OVERVIEW[:1]))
        self._show_summary(got)
        if got.login_needed:
            yield self._to_login()
            return
        if not self.title:
            return
        self.carrier = self.carriers[0] if self.carriers else ""
        self.cost_class = self.cost_classes[0] if self.cost_classes else ""
        self.node, self.tech, self.stacked, self.period, self.start, self.end = ALL_NODES, ALL_TECHS, True, "all", \
            self.first_day, self.last_day
        self.period_error = ""
        self.capacity_plot, self.stage = got.figures["capacity"], 1

    @rx.event
    async def draw_rest(self):
        """The capacity figure is drawn in the browser (its after-plot event): now the others, the
        ones over time last. Sent at once, their drawing in the browser held up the first figure."""
        if self.stage != 1:  # every later redraw of the capacity figure says so too
            return
        for stage, parts in enumerate((OVERVIEW[1:], OVER_TIME), start=2):
            toast = await self._draw(parts)
            self.stage = stage
            yield toast

    @rx.event
    async def set_carrier(self, value: str):
        self.carrier = value
        return await self._draw(_BY_FILTER["carrier"])

    @rx.event
    async def set_node(self, value: str):
        self.node = value
        return await self._draw(_BY_FILTER["node"])

    @rx.event
    async def set_tech(self, value: str):
        self.tech = value
        return await self._draw(_BY_FILTER["tech"])

    @rx.event
    async def set_cost_class(self, value: str):
        self.cost_class = value
        return await self._draw(_BY_FILTER["cost_class"])

    @rx.event
    async def set_stacked(self, value: str | list[str]):
        self.stacked = value == "stacked"
        return await self._draw(_BY_FILTER["stacked"])

    @rx.event
    async def set_period(self, value: str):
        self.period = value if value in PERIODS else "all"
        return await self._redraw_period()

    @rx.event
    async def set_start(self, value: str):
        if _day(value) is None:  # half-typed dates change nothing
            return
        self.start = value
        return await self._redraw_period()

    @rx.event
    async def set_end(self, value: str):
        if _day(value) is None:
            return
        self.end = value
        return await self._redraw_period()

    async def _redraw_period(self):
        first, last = _day(self.start), _day(self.end)
        if self.period == "custom" and first and last and last < first:
            self.period_error = (f"The last day ({last.isoformat()}) is before the first day ({first.isoformat()}). "
                                 "Choose a last day on or after the first; the figures show the days chosen before.")
            return
        self.period_error = ""
        return await self._draw(_BY_FILTER["period"])
