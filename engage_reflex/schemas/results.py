"""Views of a run's newer result tables (storage level, links, capacity factors, levelised costs, map).

RESULT_TABLES is the one definition of those files: jobs/result_tables.py writes them at solve
time, services/result_details.py reads them. A table is None in a view when the run was solved
before that file existed (the page then asks for a rerun instead of drawing it).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# kind -> (file name, columns); "value"-like columns are numbers, the rest text.
RESULT_TABLES: dict[str, tuple[str, list[str]]] = {
    "storage": ("storage.csv", ["timestep", "node", "tech", "value"]),
    "links": ("links.csv", ["tech", "name", "from_node", "to_node", "carrier", "capacity", "sent", "returned"]),
    "capacity_factors": ("capacity_factors.csv", ["node", "tech", "carrier", "value"]),
    "levelised_costs": ("levelised_costs.csv", ["tech", "carrier", "cost_class", "value"]),
    "nodes": ("nodes.csv", ["node", "latitude", "longitude"]),
}
NUMBER_COLUMNS = {"value", "capacity", "sent", "returned", "latitude", "longitude"}
SOLVED_BEFORE = "This run was solved before this figure existed; rerun it to see it."


@dataclasses.dataclass(frozen=True)
class ResultDetailsView:
    """The small whole-run tables of the newer figures; None = the run lacks that file."""

    links: pd.DataFrame | None
    capacity_factors: pd.DataFrame | None
    levelised_costs: pd.DataFrame | None
    nodes: pd.DataFrame | None
    has_storage: bool  # storage.csv exists (its levels are read per period, see StorageView)
    cost_classes: list[str]  # e.g. ["monetary", "co2"], monetary first
    first_day: str  # YYYY-MM-DD of the run's first and last time step
    last_day: str


@dataclasses.dataclass(frozen=True)
class StorageView:
    """Storage levels in a period, summed per timestep and tech over the nodes shown."""

    levels: pd.DataFrame | None  # timestep, tech, value; None = solved before storage.csv existed
    unit: str
    note: str  # e.g. "daily means"
