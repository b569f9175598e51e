"""View objects of the Nodes & links area: the placement grid, nodes and links."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class GridTech:
    """One column of the placement grid: a non-transmission technology."""

    id: int
    name: str
    label: str  # display name, or the name when it has none
    base_tech: str
    color: str
    node_count: int  # locations it is placed at (the whole model, not just this page)
    override_count: int  # node values (overrides) its nodes have, all locations


@dataclasses.dataclass(frozen=True)
class GridRow:
    """One location of the grid: `node_ids[i]` is the node of `techs[i]` here, 0 if not placed."""

    location_id: int
    location_name: str
    node_ids: list[int]

    @property
    def placed_count(self) -> int:
        return sum(1 for node_id in self.node_ids if node_id)


@dataclasses.dataclass(frozen=True)
class TechGroup:
    """A run of grid columns with the same base tech (for the grouped header)."""

    base_tech: str
    count: int


@dataclasses.dataclass(frozen=True)
class PlacementGrid:
    model_id: int
    techs: list[GridTech]  # columns, grouped by base tech
    groups: list[TechGroup]
    rows: list[GridRow]  # this page of locations
    offset: int
    limit: int
    matching_locations: int  # locations that match the location filter (all pages)
    total_locations: int  # locations of the model
    total_techs: int  # placeable (non-transmission) technologies of the model
    total_nodes: int  # nodes of the model (every location and tech)
    transmission_techs: int  # technologies placed as links, not in the grid


@dataclasses.dataclass(frozen=True)
class NodeView:
    id: int
    model_id: int
    location_id: int
    location_name: str
    tech_id: int
    tech_name: str
    tech_label: str
    base_tech: str
    override_count: int  # the node's own values (parameters that override the technology's)


@dataclasses.dataclass(frozen=True)
class NodeChange:
    """What a placement or removal did; `message` says it in planner words."""

    node_id: int  # the node placed (or already there); 0 when it was removed
    changed: bool  # False when there was nothing to do (already placed / not placed)
    message: str


@dataclasses.dataclass(frozen=True)
class BulkChange:
    """A change to many nodes at once (a whole column or row)."""

    count: int  # nodes placed or removed
    overrides: int  # node values that went with removed nodes
    message: str


@dataclasses.dataclass(frozen=True)
class LinkView:
    id: int
    name: str  # the Calliope tech key of the link
    tech_id: int
    tech_name: str
    tech_label: str
    from_location_id: int
    from_location: str
    to_location_id: int
    to_location: str
    override_count: int  # the link's own values


@dataclasses.dataclass(frozen=True)
class Choice:
    id: int
    label: str


@dataclasses.dataclass(frozen=True)
class LinksView:
    model_id: int
    links: list[LinkView]
    transmission_techs: list[Choice]  # what a new link can be
    locations: list[Choice]  # where a link can start and end
