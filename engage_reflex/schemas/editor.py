"""View objects of the model editor shared by several areas (the role, the activity log)."""

from __future__ import annotations

import dataclasses

ROLE_LABELS = {"owner": "Owner", "editor": "Can edit", "viewer": "View only"}


@dataclasses.dataclass(frozen=True)
class ModelHeader:
    """What every editor page shows on top: the model and what the user may do with it."""

    id: int
    name: str
    description: str
    time_zone: str
    is_public: bool
    owner_email: str
    role: str  # "owner" | "editor" | "viewer"
    updated_at: str  # ISO, UTC
    snapshot_of_id: int = 0  # a snapshot: the model it was taken of (0: not a snapshot, or that model is gone)
    snapshot_of_name: str = ""
    is_snapshot: bool = False

    @property
    def can_edit(self) -> bool:
        return self.role in ("owner", "editor") and not self.is_snapshot


@dataclasses.dataclass(frozen=True)
class ActivityView:
    id: int
    when: str  # ISO, UTC
    who: str  # display name or e-mail; "" for the system (imports of samples)
    action: str
    detail: str
