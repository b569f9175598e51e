"""Column helpers shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as UTC: SQLite hands timezone-aware columns back without a zone, and only
    UTC is ever stored."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso_utc(value: datetime | None) -> str:
    """A stored time as ISO text in UTC, to the second ("" for none): how views carry times."""
    value = as_utc(value)
    return value.isoformat(timespec="seconds") if value else ""


# sa_type (not sa_column): a Column object cannot be shared by the tables of a mixin.
def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)


def optional_time_field() -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=True)


def json_field(default_factory=dict, nullable: bool = False) -> Any:
    return Field(default_factory=default_factory, sa_type=JSON, nullable=nullable)


def text_field(default: str | None = "", nullable: bool = False) -> Any:
    return Field(default=default, sa_type=Text, nullable=nullable)


class ParameterValueFields(SQLModel):
    """One value of one Calliope parameter, as stored at model, tech, node or link level.

    `dims`/`index` carry Calliope's indexed data (cost classes, carriers, ...): for
    `cost_flow_cap` of class `monetary`, dims == ["costs"] and index == ["monetary"].
    `index_key` is the same index joined by "|", so the database can enforce one value
    per (owner, name, index, year). A value may instead point at a stored timeseries.
    """

    name: str = Field(max_length=120, index=True)
    value: Any = Field(default=None, sa_type=JSON, nullable=True)
    dims: list = json_field(list)
    index: list = json_field(list)
    index_key: str = Field(default="", max_length=400)
    year: int | None = Field(default=None)
    timeseries_id: int | None = Field(default=None, foreign_key="timeseries.id", ondelete="RESTRICT")
    # What the user typed (e.g. "1e6", "inf", "40 %"), kept to show it back unchanged.
    raw: str | None = Field(default=None, max_length=400)
