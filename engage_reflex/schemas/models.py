"""View objects of the model lifecycle: create, copy, rename, change details, delete."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """A model just created, copied or changed, and the acting user's role in it."""

    id: int
    name: str
    description: str
    time_zone: str
    role: str  # "owner" | "editor" | "viewer"
    copied_from_id: int | None = None


@dataclasses.dataclass(frozen=True)
class DeletedModel:
    """A deleted model: its name for the message, and the store prefixes of its runs' and
    uploads' files left to remove.

    The folders are removed by the caller once the transaction has committed
    (services.models.remove_run_folders), so a rolled-back delete never loses results.
    """

    id: int
    name: str
    run_folders: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ModelCounts:
    """How much a model holds, for its Overview."""

    locations: int
    technologies: int
    nodes: int
    links: int
    scenarios: int
    carriers: int = 0
    timeseries: int = 0
