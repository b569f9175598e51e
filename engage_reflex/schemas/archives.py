"""View objects of model zips: an upload that becomes a model, and a scenario exported as a zip."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ArchiveUploadView:
    id: int
    filename: str
    status: str  # queued | processing | succeeded | failed
    message: str
    progress: float  # 0..1 of the running job
    size_bytes: int
    model_id: int | None  # the new model, once imported
    model_name: str
    warnings: tuple[str, ...]  # the importer's, once imported


@dataclasses.dataclass(frozen=True)
class ExportView:
    export_id: str
    status: str  # queued | processing | succeeded | failed
    message: str
    progress: float
    filename: str  # the name the browser saves it under
