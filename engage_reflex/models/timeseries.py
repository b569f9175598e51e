"""Timeseries attached to a model, and the uploads that create them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from engage_reflex.models._common import created_at_field, json_field, text_field


class Timeseries(SQLModel, table=True):
    """One cleaned series: `data` holds its times and values as one blob (see series_blob.py).

    Kept in the database (not on disk) so a model, its copies and snapshots stay one
    transaction and scale-out workers need no shared file system to build a run.
    """

    __tablename__ = "timeseries"
    __table_args__ = (UniqueConstraint("model_id", "name", name="uq_timeseries_name"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    description: str = text_field()
    unit: str = Field(default="", max_length=40)
    source_filename: str = Field(default="", max_length=300)
    start: datetime | None = None
    end: datetime | None = None
    length: int = 0
    # pack_series(...) / unpack_series(...): ~70 KB for an hourly year instead of ~380 KB of JSON.
    data: bytes = Field(default=b"", sa_type=LargeBinary, nullable=False)
    created_at: datetime = created_at_field()


class UploadStatus(str, enum.Enum):
    queued = "queued"
    processing = "processing"
    inspected = "inspected"  # read; waiting for the planner to pick columns
    succeeded = "succeeded"
    failed = "failed"


class Upload(SQLModel, table=True):
    """A file a user uploaded, processed by a `short` queue job."""

    __tablename__ = "uploads"

    id: int | None = Field(default=None, primary_key=True)
    # None for a model archive until it has made its model (kind "model_zip").
    model_id: int | None = Field(default=None, foreign_key="energy_models.id", ondelete="CASCADE",
                                 index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    kind: str = Field(default="timeseries", max_length=40)  # "timeseries" | "model_zip"
    filename: str = Field(max_length=300)
    # A run files store key ("uploads/<id>/original"); rows from before the store: an absolute path.
    stored_path: str = Field(default="", max_length=500)
    status: UploadStatus = Field(
        default=UploadStatus.queued, sa_type=String(20), nullable=False
    )
    message: str = text_field()
    rq_job_id: str | None = Field(default=None, max_length=100)
    result: dict = json_field(dict)
    created_at: datetime = created_at_field()
