"""Views of scenarios: what to run (nodes and links on, settings, group constraints)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ScenarioSummary:
    """One scenario in the model's list."""

    id: int
    name: str
    description: str
    nodes_off: int
    links_off: int
    constraints: int
    settings_changed: int  # typed settings that differ from the model's own
    has_imported_overrides: bool  # Calliope overrides kept from an imported model
    run_count: int


@dataclasses.dataclass(frozen=True)
class ScenarioSettings:
    """The typed settings of a scenario; "" / None means "as the model has it"."""

    mode: str  # "plan" | "operate" | "spores"
    operate_window: str  # e.g. "24h" (operate mode)
    operate_horizon: str  # e.g. "48h" (operate mode)
    spores_number: int  # SPORES iterations after the first solve (spores mode)
    objective_weights: dict[str, str]  # cost class -> weight as typed ("1", "0.5"); missing = 1
    cyclic_storage: bool
    ensure_feasibility: bool
    subset_start: str  # YYYY-MM-DD or ""
    subset_end: str
    resample: str  # e.g. "6h" or ""


@dataclasses.dataclass(frozen=True)
class SwitchRow:
    """A node (a technology at a location) or a link, and whether the scenario has it on."""

    id: int
    kind: str  # "node" | "link"
    location: str  # a link's: "A → B"
    tech: str
    base_tech: str
    active: bool


@dataclasses.dataclass(frozen=True)
class LocationSwitch:
    """A location on the scenario's map: how many of its nodes and links are on."""

    id: int
    name: str
    lat: float | None
    lon: float | None
    on: int
    total: int


@dataclasses.dataclass(frozen=True)
class LinkLine:
    id: int
    name: str
    start: list[float]  # [lat, lon]
    end: list[float]
    active: bool


@dataclasses.dataclass(frozen=True)
class ConstraintRow:
    id: int
    name: str
    template: str
    title: str  # the template's title
    summary: str  # services.group_constraints.describe(...)
    params: dict
    problem: str  # "" or why it no longer fits the model (a tech it names was deleted, ...)


@dataclasses.dataclass(frozen=True)
class ScenarioDetail:
    id: int
    model_id: int
    name: str
    description: str
    settings: ScenarioSettings
    cost_classes: list[str]
    rows: list[SwitchRow]  # the filtered nodes and links, at most `row_limit`
    matching: int  # rows matching the filter (may exceed len(rows))
    nodes_total: int
    nodes_off: int
    links_total: int
    links_off: int
    constraints: list[ConstraintRow]
    imported_overrides: list[str]  # names of the Calliope overrides the scenario came from
    locations: list[LocationSwitch]
    link_lines: list[LinkLine]
    # What a group constraint may name (services/group_constraints.ModelVocabulary, as lists).
    techs: list[str]
    supply_techs: list[str]  # techs that produce a carrier (supply, storage, conversion)
    location_names: list[str]
    carriers: list[str]


@dataclasses.dataclass(frozen=True)
class SwitchChange:
    """What a switch did, for the toast."""

    changed: int
    active: bool
    message: str


@dataclasses.dataclass(frozen=True)
class DeletedScenario:
    id: int
    name: str
    runs_deleted: int
    run_folders: tuple[str, ...] = ()


EMPTY_SETTINGS = ScenarioSettings(mode="plan", operate_window="24h", operate_horizon="48h", spores_number=3,
                                  objective_weights={}, cyclic_storage=True, ensure_feasibility=False,
                                  subset_start="", subset_end="", resample="")
# What the page shows before a scenario has loaded (a state var cannot be None and typed).
EMPTY_DETAIL = ScenarioDetail(id=0, model_id=0, name="", description="", settings=EMPTY_SETTINGS, cost_classes=[],
                              rows=[], matching=0, nodes_total=0, nodes_off=0, links_total=0, links_off=0,
                              constraints=[], imported_overrides=[], locations=[], link_lines=[], techs=[],
                              supply_techs=[], location_names=[], carriers=[])
