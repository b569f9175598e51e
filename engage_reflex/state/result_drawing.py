"""What the results page's events do in their worker thread: read the run's tables through the
services and draw the figures. Blocking (database, CSV files, plotly): call through rx.run_in_thread.

Kept free of reflex so the service tests can call it as the page does.
"""

from __future__ import annotations

import dataclasses

import plotly.graph_objects as go

from engage_reflex.charts._style import empty_figure
from engage_reflex.charts.capacity import capacity_figure
from engage_reflex.charts.costs import costs_figure
from engage_reflex.charts.dispatch import dispatch_figure
from engage_reflex.charts.levelised import capacity_factor_figure, levelised_cost_figure
from engage_reflex.charts.results_map import results_map_figure
from engage_reflex.charts.storage import storage_figure
from engage_reflex.db import session_scope
from engage_reflex.schemas import ResultsView
from engage_reflex.schemas.results import SOLVED_BEFORE, ResultDetailsView
from engage_reflex.services import result_details, results
from engage_reflex.services.errors import EngageError, NotVisible
from engage_reflex.state.auth import lookup_user

ALL_NODES = "__all__"
ALL_TECHS = "__all__"
# Figures that do not depend on time: drawn first, so the page shows something at once.
OVERVIEW = ("capacity", "storage_capacity", "costs", "levelised", "capacity_factors", "map")
OVER_TIME = ("dispatch", "storage")
FIGURES = OVERVIEW + OVER_TIME


@dataclasses.dataclass(frozen=True)
class Filters:
    carrier: str = ""
    node: str = ALL_NODES
    tech: str = ALL_TECHS
    start: str = ""  # YYYY-MM-DD, "" = from the run's first day
    end: str = ""
    cost_class: str = ""
    stacked: bool = True

    @property
    def node_id(self) -> str:
        return "" if self.node == ALL_NODES else self.node

    @property
    def tech_id(self) -> str:
        return "" if self.tech == ALL_TECHS else self.tech


@dataclasses.dataclass
class Drawn:
    email: str = ""  # "" for a visitor without a login (reading a public model's run)
    is_admin: bool = False
    login_needed: bool = False  # the login ended, or a visitor asked for a run that is not public
    error: str = ""
    view: ResultsView | None = None
    details: ResultDetailsView | None = None
    figures: dict[str, go.Figure] = dataclasses.field(default_factory=dict)
    dispatch_note: str = ""
    storage_note: str = ""


def read_and_draw(token: str, run_id: str, filters: Filters | None, parts: tuple[str, ...]) -> Drawn:
    """Who is asking, the run's results and the figures named in `parts` (filters None: the page's
    first look, main carrier and cost class)."""
    user = lookup_user(token) if token else None
    if token and user is None:
        return Drawn(login_needed=True)
    email, admin = (user.email, bool(user.is_admin)) if user else ("", False)
    if not str(run_id).isdigit():
        return Drawn(email=email, is_admin=admin, error=f"“{run_id}” is not a run number.")
    drawn = Drawn(email=email, is_admin=admin)
    try:
        with session_scope() as session:
            keys = {"session": session, "user_id": user.id if user else None, "run_id": int(run_id)}
            view = drawn.view = results.load_results(**keys)
            details = drawn.details = result_details.load_details(**keys)
            f = filters or Filters(carrier=view.carriers[0] if view.carriers else "",
                                   cost_class=details.cost_classes[0] if details.cost_classes else "")
            if "dispatch" in parts:
                dispatch = results.load_dispatch(**keys, carrier=f.carrier, node=f.node_id, tech=f.tech_id,
                                                 start=f.start, end=f.end)
                drawn.figures["dispatch"], drawn.dispatch_note = draw_dispatch(view, dispatch, f)
            if "storage" in parts:
                storage = result_details.load_storage(**keys, node=f.node_id, tech=f.tech_id, start=f.start,
                                                      end=f.end)
                drawn.storage_note = storage.note
                drawn.figures["storage"] = empty_figure(SOLVED_BEFORE) if storage.levels is None else \
                    storage_figure(storage.levels, view.techs, unit=storage.unit,
                                   title=f"Storage level, {f.node_id or 'all locations'}")
    except NotVisible as exc:
        if user is None:  # not public: a login may show it
            return Drawn(login_needed=True)
        return Drawn(email=email, is_admin=admin, error=exc.message)
    except EngageError as exc:
        return Drawn(email=email, is_admin=admin, error=exc.message)
    drawn.figures.update({part: draw_overview(part, view, details, f) for part in parts if part in OVERVIEW})
    return drawn


def draw_dispatch(view: ResultsView, dispatch, f: Filters) -> tuple[go.Figure, str]:
    where = f.node_id or "all nodes"
    title = f"Dispatch of {f.carrier}, {where}"
    if dispatch.flows.empty:
        return empty_figure(dispatch.note or f"No {f.carrier} flowed at {where}.", title=title), dispatch.note
    return dispatch_figure(dispatch.flows, view.techs, carrier=f.carrier, unit=dispatch.unit, title=title,
                           demand_as_line=True), dispatch.note


def draw_overview(part: str, view: ResultsView, details: ResultDetailsView, f: Filters) -> go.Figure:
    unit = view.units.get(f.carrier, "kW")
    capacity = view.capacity if not f.tech_id else view.capacity[view.capacity["tech"] == f.tech_id]
    if part == "capacity":
        return capacity_figure(capacity, view.techs, carrier=f.carrier or None, unit=unit, stacked=f.stacked,
                               title=f"Installed {f.carrier} capacity")
    if part == "storage_capacity":
        return capacity_figure(capacity, view.techs, variable="storage_cap", unit=f"{unit}h", stacked=f.stacked,
                               title="Installed storage capacity")
    if part == "costs":
        costs = view.costs if not f.tech_id else view.costs[view.costs["tech"] == f.tech_id]
        return costs_figure(costs, view.techs, cost_class=f.cost_class,
                            title=f"{f.cost_class.capitalize()} by technology and location")
    if part == "levelised":
        if details.levelised_costs is None:
            return empty_figure(SOLVED_BEFORE)
        return levelised_cost_figure(details.levelised_costs, view.techs, carrier=f.carrier,
                                     cost_class=f.cost_class, unit=f"{f.cost_class} per {unit}h")
    if part == "capacity_factors":
        if details.capacity_factors is None:
            return empty_figure(SOLVED_BEFORE)
        return capacity_factor_figure(details.capacity_factors, view.techs, carrier=f.carrier, node=f.node_id)
    if details.nodes is None or details.links is None:
        return empty_figure(SOLVED_BEFORE)
    return results_map_figure(details.nodes, view.capacity, details.links, view.techs, carrier=f.carrier, unit=unit)
