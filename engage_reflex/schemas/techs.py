"""View objects of the Technologies area: techs, Calliope's parameter catalogue, values."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class CatalogueEntry:
    """One parameter or lookup Calliope accepts on a technology (read from Calliope itself)."""

    name: str
    title: str
    description: str
    unit: str  # Calliope's unit text without LaTeX ("cost/power"); "" when unitless
    default: object  # Python value (float inf / nan, bool, str)
    default_text: str  # "infinite", "none", "0", "true", ...
    category: str  # capacity | costs | efficiency | storage | time series | other
    by_cost_class: bool  # indexed over Calliope's `costs` dimension
    dtype: str  # float | bool | string
    one_of: tuple[str, ...] = ()
    kind: str = "parameter"  # parameter | lookup | schema
    math: str = "base"  # the math file that defines it (base, milp, operate, spores, ...)
    note: str = ""  # a hint shown beside it (e.g. "operate mode only")


@dataclasses.dataclass(frozen=True)
class ClassValue:
    """A value of one cost class (cost_class == "" for a parameter not indexed by costs)."""

    cost_class: str
    value_text: str  # the stored number as shown ("5000", "infinite", "true")
    raw: str  # what the planner typed ("5 MW")
    source: str = ""  # for the effective value: "default" | "technology" | "node"


@dataclasses.dataclass(frozen=True)
class ParameterRow:
    """One row of the parameter editor: the catalogue entry and the values set."""

    name: str
    title: str
    description: str
    unit: str
    default_text: str
    category: str
    by_cost_class: bool
    dtype: str
    options: list[str]  # allowed values (one_of / true,false) for a select; [] for free text
    note: str
    is_set: bool  # at this level (tech page: on the tech; node page: on the node)
    set_values: list[ClassValue]  # set at this level
    tech_values: list[ClassValue]  # node page: the technology's values
    effective: list[ClassValue]  # node page: what Calliope uses at this node
    effective_source: str  # node page: "default" | "technology" | "node"


@dataclasses.dataclass(frozen=True)
class ParameterChange:
    """What a set/clear did, in planner words, and Calliope's warnings if any."""

    name: str
    message: str
    warnings: list[str]


@dataclasses.dataclass(frozen=True)
class TechSummary:
    id: int
    name: str
    display_name: str
    base_tech: str
    color: str
    description: str
    carriers_in: list[str]
    carriers_out: list[str]
    node_count: int
    link_count: int
    parameter_count: int


@dataclasses.dataclass(frozen=True)
class TechUsage:
    """What goes with a technology when it is deleted."""

    tech_id: int
    name: str
    node_count: int
    link_count: int
    message: str


@dataclasses.dataclass(frozen=True)
class CopySource:
    """A technology the user may copy (from this model or another one they can view)."""

    tech_id: int
    model_id: int
    model_name: str
    name: str
    display_name: str
    base_tech: str


@dataclasses.dataclass(frozen=True)
class NodeHeader:
    node_id: int
    location: str
    tech_id: int
    tech_name: str
    tech_display_name: str
    base_tech: str


@dataclasses.dataclass(frozen=True)
class SeriesChoice:
    """A timeseries of the model a parameter can follow."""

    id: int
    name: str
    unit: str


@dataclasses.dataclass(frozen=True)
class TechEditorView:
    """Everything one technology's page shows (one service call per page load)."""

    tech: TechSummary
    carriers: list[str]
    cost_classes: list[str]
    rows: list[ParameterRow]
    series: list[SeriesChoice] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class NodeEditorView:
    header: NodeHeader
    cost_classes: list[str]
    rows: list[ParameterRow]
    series: list[SeriesChoice] = dataclasses.field(default_factory=list)
