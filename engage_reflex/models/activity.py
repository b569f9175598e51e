"""What happened to a model, and what people said about it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from engage_reflex.models._common import created_at_field, text_field


class ActivityLog(SQLModel, table=True):
    """One change to a model: who (user_id), what (action + detail in planner words), when."""

    __tablename__ = "activity_log"
    __table_args__ = (Index("ix_activity_log_model_created", "model_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int | None = Field(default=None, foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    action: str = Field(max_length=60)
    detail: str = text_field()
    created_at: datetime = created_at_field()


class Comment(SQLModel, table=True):
    __tablename__ = "comments"

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    body: str = text_field()
    created_at: datetime = created_at_field()


class ModelRead(SQLModel, table=True):
    """When a person last read a model's activity and comments: what came after is new to them
    (the count on the model's card in My models)."""

    __tablename__ = "model_reads"

    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", primary_key=True, index=True)
    seen_at: datetime = created_at_field()
