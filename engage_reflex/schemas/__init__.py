"""Plain view objects that services return and the UI shows (never live table rows)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


@dataclasses.dataclass(frozen=True)
class UserView:
    id: int
    email: str
    display_name: str
    is_admin: bool = False


@dataclasses.dataclass(frozen=True)
class ImportReport:
    model_id: int
    name: str
    locations: int
    technologies: int
    nodes: int
    links: int
    timeseries: int
    scenarios: int
    warnings: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ModelSummary:
    id: int
    name: str
    description: str
    owner_email: str
    is_public: bool
    is_own: bool
    can_edit: bool
    locations: int
    technologies: int
    updated_at: str
    scenarios: int = 0
    # Shared with the user by a collaborator entry (not theirs, not public).
    is_shared: bool = False
    # The user's role: "owner", "editor" or "viewer" (services.access.role_of).
    role: str = "viewer"
    # Changes, finished runs and comments of others since the user last read the model (members only).
    unread: int = 0


@dataclasses.dataclass(frozen=True)
class ScenarioView:
    id: int
    name: str
    description: str
    # The scenario's own period and resolution (its typed settings), "" when it has none.
    subset_start: str = ""
    subset_end: str = ""
    resample: str = ""


@dataclasses.dataclass(frozen=True)
class TechView:
    id: int
    name: str
    display_name: str
    base_tech: str
    color: str


@dataclasses.dataclass(frozen=True)
class LocationView:
    id: int
    name: str
    latitude: float | None
    longitude: float | None


@dataclasses.dataclass(frozen=True)
class ModelDetail:
    id: int
    name: str
    description: str
    is_public: bool
    can_edit: bool
    owner_email: str
    # The model's own time span, to prefill the run form (ISO dates).
    time_start: str
    time_end: str
    default_subset_start: str
    default_subset_end: str
    scenarios: list[ScenarioView]
    technologies: list[TechView]
    locations: list[LocationView]


@dataclasses.dataclass(frozen=True)
class RunView:
    id: int
    model_id: int
    model_name: str
    scenario_name: str
    solver: str
    subset_start: str
    subset_end: str
    resample: str
    status: str
    progress: int
    message: str
    objective: float | None
    created_at: str
    finished_at: str
    duration_s: float | None
    has_results: bool
    is_out_of_date: bool
    # Edits to the model (its activity log) since the run read its inputs; 0 when not out of date.
    edits_since: int = 0
    # The run's definition as a zip for `calliope run` is among its results.
    has_inputs: bool = False
    has_outputs: bool = False  # every result as tidy CSVs in a zip ("outputs")
    notes: str = ""
    reused_from: int | None = None  # the run whose results answered this one
    cluster_days: int | None = None  # solved as this many representative days (None: every day)
    started_by_id: int | None = None  # the user who started it


@dataclasses.dataclass(frozen=True)
class ResultsView:
    """What the results page needs from a succeeded run; the frames are small (no timesteps)."""

    run: RunView
    # (label, seconds), in the order the run went through them.
    timings: list[tuple[str, float]]
    capacity: pd.DataFrame  # node, tech, carrier, variable, value
    techs: pd.DataFrame  # tech, name, color, base_tech
    costs: pd.DataFrame  # node, tech, cost_class, value
    carriers: list[str]  # carriers that flowed, the main one first
    nodes: list[str]
    units: dict[str, str]  # carrier -> unit


@dataclasses.dataclass(frozen=True)
class DispatchView:
    """Flows of one carrier at one node (or all), summed per timestep, tech and direction."""

    flows: pd.DataFrame  # timestep, tech, direction, value
    carrier: str
    unit: str
    note: str  # e.g. "daily means" when a long run was averaged


@dataclasses.dataclass(frozen=True)
class ModelFinding:
    """One thing the pre-run check found: advice, the run may still be started."""

    severity: str  # "warning" (the results will likely be meaningless) or "info"
    code: str  # stable identifier, e.g. "demand_without_supply"
    message: str  # one line a planner reads, naming the tech / carrier / node
    hint: str  # what to do about it
    # The model editor area where it is fixed ("techs", "nodes", "locations", "carriers", "runs").
    area: str = ""


@dataclasses.dataclass(frozen=True)
class ModelCheckView:
    """The pre-run check of one scenario, warnings first."""

    model_id: int
    model_name: str
    scenario_id: int
    scenario_name: str
    findings: list[ModelFinding]
    # The run period the check looked at (ISO dates, "" when the model sets none).
    period_start: str = ""
    period_end: str = ""

    @property
    def warnings(self) -> list[ModelFinding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def infos(self) -> list[ModelFinding]:
        return [f for f in self.findings if f.severity == "info"]


@dataclasses.dataclass(frozen=True)
class CalliopeReadView:
    """What Calliope said when it read a scenario's definition (no solve)."""

    done: bool  # False while the check job waits or works
    ok: bool = False
    problem: str = ""  # Calliope's reason, in planner words, when it refused the model
    seconds: float = 0.0

