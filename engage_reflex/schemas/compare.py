"""View objects of the run comparison: what changed in the inputs of two runs, and in their results."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from engage_reflex.schemas import RunView


@dataclasses.dataclass(frozen=True)
class RunChoice:
    """A succeeded run offered in the "First run" / "Second run" selects."""

    id: str  # the run id as text (a select's value)
    label: str  # "#12 · base · 2026-12-01 09:30 · cheaper batteries"


@dataclasses.dataclass(frozen=True)
class InputChange:
    """One difference between the two runs' inputs, as a planner reads it."""

    section: str  # "Run options", "Technologies", "Nodes and links", "Model settings", "Data tables", "Math"
    subject: str  # "ccgt", "ccgt at region1", "demand_power at region1", "Solver"
    what: str  # "flow_cap_max", "cost_flow_cap (monetary)", "switched on/off", "sink_use_equals"
    first: str  # the first run's value ("not set" when absent)
    second: str
    text: str  # the whole line: "ccgt: flow_cap_max 30,000 → 40,000"
    title: str = ""  # Calliope's title of the parameter, when it has one


@dataclasses.dataclass(frozen=True)
class ValueDelta:
    """One result of both runs: a capacity or a cost of one technology at one location."""

    group: str  # "flow capacity (power)", "storage capacity", or the cost class ("monetary", "co2")
    tech: str
    tech_name: str
    node: str
    unit: str
    first: float
    second: float
    delta: float


@dataclasses.dataclass(frozen=True)
class CostClassTotal:
    cost_class: str
    first: float
    second: float
    delta: float


@dataclasses.dataclass(frozen=True)
class ComparisonView:
    model_id: int
    model_name: str
    first: RunView
    second: RunView
    input_changes: list[InputChange]
    # Why some inputs could not be compared (e.g. a run solved before its inputs were kept); "" if all were.
    inputs_note: str
    objective_first: float | None
    objective_second: float | None
    objective_delta: float | None
    capacity_changes: list[ValueDelta]  # nonzero deltas, the largest change first
    capacity_unchanged: int
    cost_totals: list[CostClassTotal]  # one per cost class (monetary, co2, ...)
    cost_changes: list[ValueDelta]  # per cost class, tech and location: nonzero deltas
    cost_unchanged: int
    # For the charts: both runs' capacity.csv and costs.csv, and the techs of both (techs.csv).
    capacity_tables: tuple[pd.DataFrame, pd.DataFrame]
    cost_tables: tuple[pd.DataFrame, pd.DataFrame]
    techs: pd.DataFrame
    capacity_unit: str = ""  # the carriers' rate unit when all capacities share one ("kW"), else ""
