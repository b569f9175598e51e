"""run recovery: queue time, re-enqueues, the worker holding a run and its heartbeat, alert sent

`queued_at` and `enqueue_count` let the reconciler put a queued run whose job vanished from
Redis back on its queue (up to ENGAGE_MAX_REENQUEUES times) and split queue waiting from work
in the run's timings; `worker_name` and `heartbeat_at` say which worker holds a building or
solving run and when its parent process last showed it was alive; `alerted_at` makes the
owner's alert for a finished run go out exactly once, whichever process finished it. Runs that
finished before this migration count as alerted.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 16:10:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('enqueue_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('worker_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE runs SET queued_at = created_at"))
    op.execute(sa.text(
        "UPDATE runs SET alerted_at = COALESCE(finished_at, created_at) "
        "WHERE status IN ('succeeded', 'failed', 'cancelled')"
    ))


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('alerted_at')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('worker_name')
        batch_op.drop_column('enqueue_count')
        batch_op.drop_column('queued_at')
