"""View objects of the Locations and Carriers pages."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class LocationRow:
    id: int
    name: str
    latitude: float | None
    longitude: float | None
    available_area: float | None
    description: str
    nodes: int  # technologies placed here
    links: int  # links starting or ending here


@dataclasses.dataclass(frozen=True)
class MapLink:
    """A link drawn on the map: a line between two located locations."""

    id: int
    name: str
    tech: str
    from_location: str
    to_location: str
    from_lat: float
    from_lon: float
    to_lat: float
    to_lon: float


@dataclasses.dataclass(frozen=True)
class LocationImpact:
    """What goes with a location when it is deleted."""

    location_id: int
    name: str
    techs: list[str]  # technologies placed at the location (their nodes go)
    links: list[str]  # links from or to it, e.g. "ac_1 (Oslo – Bergen)"

    @property
    def is_empty(self) -> bool:
        return not self.techs and not self.links


@dataclasses.dataclass(frozen=True)
class LocationImportReport:
    added: list[str]
    updated: list[str]
    unchanged: int

    @property
    def summary(self) -> str:
        parts = []
        if self.added:
            parts.append(f"{len(self.added)} added")
        if self.updated:
            parts.append(f"{len(self.updated)} updated")
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        return "Locations imported: " + (", ".join(parts) if parts else "nothing to do") + "."


@dataclasses.dataclass(frozen=True)
class CarrierRow:
    id: int
    name: str
    description: str
    rate_unit: str
    quantity_unit: str
    color: str
    used_by: list[str]  # technologies that take it in, give it out or export it
