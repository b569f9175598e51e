"""The results page of one run: summary, the filters' choices, the cost table and downloads.

The figures and the filters' current values live in ResultFiguresState (state/result_filters.py),
whose `load` the page runs; it fills this state too, from the same read. Only labels and small
tables live here; the result tables stay on the server. Reading runs in a worker thread
(`rx.run_in_thread`), never on the event loop.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import reflex as rx

from engage_reflex.charts._style import tech_table
from engage_reflex.db import session_scope
from engage_reflex.schemas import ResultsView
from engage_reflex.services import downloads, runs
from engage_reflex.services.errors import EngageError
from engage_reflex.services.names import plural
from engage_reflex.state._format import number
from engage_reflex.state.auth import AuthState, lookup_user
from engage_reflex.state.result_drawing import ALL_NODES, ALL_TECHS, Drawn

__all__ = ["ALL_NODES", "ALL_TECHS", "CostRow", "Fact", "ResultsState", "TechChoice", "check_download"]
# name -> file name suffix of the download
DOWNLOADS = {"netcdf": ".nc", "inputs": "-inputs.zip", "outputs": "-outputs.zip"}
# Techs a planner filters by: what is built (demand and lines are shown with every choice).
_FILTERED_BASE_TECHS = ("supply", "conversion", "storage")


@dataclasses.dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclasses.dataclass(frozen=True)
class CostRow:
    name: str
    color: str
    value: str
    is_total: bool = False


@dataclasses.dataclass(frozen=True)
class TechChoice:
    value: str
    label: str


def _facts(view: ResultsView) -> list[Fact]:
    run = view.run
    span = run.subset_start if run.subset_start == run.subset_end else f"{run.subset_start} to {run.subset_end}"
    facts = [
        Fact("Scenario", run.scenario_name),
        Fact("Solver", "HiGHS" if run.solver == "highs" else run.solver.upper()),
        Fact("Dates", span),
        Fact("Time steps", f"every {run.resample}" if run.resample else "hourly (as in the model)"),
        Fact("Objective (total cost)", number(run.objective) if run.objective is not None else "–"),
    ]
    if run.cluster_days:  # the figures show those days only, each standing for several
        facts.insert(3, Fact("Solved as", plural(run.cluster_days, "representative day")))
    facts += [Fact(label, f"{seconds:,.1f} s") for label, seconds in view.timings]
    if run.duration_s is not None and not any(label.lower() == "total" for label, _ in view.timings):
        facts.append(Fact("Total time", f"{run.duration_s:,.1f} s"))
    return facts


def _costs(view: ResultsView) -> list[CostRow]:
    """Monetary cost per technology; lines of one name (e.g. "District heat distribution") are one row."""
    costs = view.costs
    if "monetary" in set(costs["cost_class"]):
        costs = costs[costs["cost_class"] == "monetary"]
    table = tech_table(view.techs, costs["tech"].unique())
    per_name = costs.groupby(costs["tech"].map(table["name"]), sort=False)["value"].sum()
    colors = table.drop_duplicates("name").set_index("name")["color"]
    rows = [CostRow(name, colors[name], number(per_name[name]))
            for name in colors.index if name in per_name.index and abs(per_name[name]) > 1e-9]
    return rows + [CostRow("Total", "", number(per_name.sum()), is_total=True)] if rows else rows


def _tech_choices(view: ResultsView) -> list[TechChoice]:
    built = view.capacity.loc[view.capacity["value"].abs() > 1e-9, "tech"].unique()
    table = tech_table(view.techs, built)
    table = table[table["base_tech"].isin(_FILTERED_BASE_TECHS)]
    return [TechChoice(str(tech), str(row["name"])) for tech, row in table.iterrows()]


def check_download(token: str, run_id: str, name: str = "netcdf") -> tuple[int, int]:
    """(user id, run id) when the user may download the run's `name` artefact (user id 0: a visitor
    without a login, reading a public model); EngageError otherwise."""
    user = lookup_user(token) if token else None
    if (token and user is None) or not str(run_id).isdigit():
        raise EngageError("Please log in again to download this run.")
    with session_scope() as session:  # a visitor (id 0 in the link) downloads a public model's run
        runs.run_artefact(session=session, user_id=user.id if user else None, run_id=int(run_id), name=name)
    return (user.id if user else 0), int(run_id)


class ResultsState(AuthState):
    loaded: bool = False
    error: str = ""
    title: str = ""
    has_inputs: bool = False
    has_outputs: bool = False
    results_model_id: int = 0
    model_name: str = ""
    facts: list[Fact] = []
    costs: list[CostRow] = []
    carriers: list[str] = []
    nodes: list[str] = []
    tech_choices: list[TechChoice] = []
    cost_classes: list[str] = []
    first_day: str = ""
    last_day: str = ""

    def _show_summary(self, got: Drawn) -> None:
        """The labels, choices and cost table of a read (see read_and_draw)."""
        self.user_email, self.user_is_admin = got.email, got.is_admin  # the page has no guard event
        if got.login_needed:  # the caller sends the visitor to the login page
            return
        if got.view is None or got.details is None:
            self.error, self.loaded = got.error, True
            return
        view, details = got.view, got.details
        run = view.run
        self.title, self.model_name, self.results_model_id = f"Run #{run.id}", run.model_name, run.model_id
        # The lead's RunView.has_outputs lands separately; until then there is no outputs zip.
        self.has_inputs, self.has_outputs = run.has_inputs, bool(getattr(run, "has_outputs", False))
        self.facts, self.costs, self.tech_choices = _facts(view), _costs(view), _tech_choices(view)
        self.carriers, self.nodes, self.cost_classes = view.carriers, view.nodes, details.cost_classes
        self.first_day, self.last_day = details.first_day, details.last_day
        self.loaded = True

    @rx.event
    async def download(self, name: str):
        """The run's NetCDF ("netcdf"), its inputs as a zip for `calliope run` ("inputs") or its
        outputs as a zip of CSVs ("outputs")."""
        try:
            user_id, run_id = await rx.run_in_thread(functools.partial(check_download, self.auth_token,
                                                                       self.run_id, name))
        except EngageError as exc:
            return rx.toast.error(exc.message)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.model_name).strip("-").lower() or "model"
        link = downloads.artefact_link(run_id=run_id, name=name, user_id=user_id)
        return rx.download(url=link, filename=f"{slug}-run-{run_id}{DOWNLOADS.get(name, '')}")
