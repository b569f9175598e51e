"""View objects of timeseries uploads (the Timeseries page's upload panel)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class UploadColumn:
    name: str
    kind: str  # "timestamp" | "number" | "text" | "empty"
    samples: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class UploadProblem:
    row: int | None  # the file's line number, as a text editor shows it
    column: str | None
    message: str
    refused: bool


@dataclasses.dataclass(frozen=True)
class UploadView:
    id: int
    model_id: int
    filename: str
    status: str  # queued | processing | inspected | succeeded | failed
    step: str  # "inspect" (reading the file) or "clean" (storing the chosen series)
    message: str
    progress: float  # 0..1 of the running job
    size_bytes: int
    columns: tuple[UploadColumn, ...]
    preview: tuple[tuple[str, ...], ...]
    data_rows: int
    timestamp_column: str
    date_format: str
    delimiter: str
    decimal: str
    header_row: int
    problems: tuple[UploadProblem, ...]
    stored: tuple[str, ...]  # names of the series stored from it
