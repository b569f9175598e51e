"""A run: one solve of one scenario, from queued to a terminal status."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from engage_reflex.models._common import created_at_field, json_field, optional_time_field, text_field


class RunStatus(str, enum.Enum):
    queued = "queued"
    building = "building"
    solving = "solving"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)


TERMINAL_STATUSES = (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)


class Solver(str, enum.Enum):
    highs = "highs"
    cbc = "cbc"
    glpk = "glpk"


class Run(SQLModel, table=True):
    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    scenario_id: int = Field(foreign_key="scenarios.id", ondelete="CASCADE", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    solver: Solver = Field(default=Solver.highs, sa_type=String(20), nullable=False)
    subset_start: str | None = Field(default=None, max_length=40)
    subset_end: str | None = Field(default=None, max_length=40)
    resample: str | None = Field(default=None, max_length=20)
    # Solve this many representative days instead of every day (time clustering; None: every day).
    cluster_days: int | None = Field(default=None)
    status: RunStatus = Field(
        default=RunStatus.queued, sa_type=String(20), nullable=False, index=True
    )
    progress: int = 0
    message: str = text_field()
    # What the planner wrote about the run when starting it (why it was run, what changed).
    notes: str = text_field()
    log: str = text_field()
    termination: str = Field(default="", max_length=100)
    objective: float | None = None
    rq_job_id: str | None = Field(default=None, max_length=100)
    input_hash: str = Field(default="", max_length=64, index=True)
    # The planner asked to solve even if a run with the same inputs already succeeded (no reuse).
    solve_again: bool = Field(default=False)
    # The succeeded run whose results answered this one (same inputs, solver and Calliope version).
    reused_from_id: int | None = Field(default=None)
    # Directory (under the data dir) with model.nc and the tidy result tables.
    artefact_dir: str = Field(default="", max_length=500)
    artefacts: dict = json_field(dict)
    timings: dict = json_field(dict)
    # The optimisation problem's size once built (timesteps, variables, constraints), for estimates.
    size: dict = json_field(dict)
    # Set when the model changed after this run was started.
    is_out_of_date: bool = Field(default=False)
    created_at: datetime = created_at_field()
    started_at: datetime | None = optional_time_field()
    finished_at: datetime | None = optional_time_field()
    # Supervision (services/runs.py reconcile_runs, jobs/reconciler.py). `queued_at`: when the
    # run's current step (rq_job_id) was first put on its queue; `enqueue_count`: how often the
    # reconciler has put the run back on a queue (its job vanished from Redis), all steps together. `worker_name`: the RQ worker
    # holding a building/solving run, whose parent process refreshes `heartbeat_at` while it runs.
    queued_at: datetime | None = optional_time_field()
    enqueue_count: int = Field(default=0)
    worker_name: str | None = Field(default=None, max_length=100)
    heartbeat_at: datetime | None = optional_time_field()
    # When the owner's alert for the finished run was sent or found unnecessary (jobs/alerts.py):
    # each finished run is alerted at most once, whichever process finished it.
    alerted_at: datetime | None = optional_time_field()
