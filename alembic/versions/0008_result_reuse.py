"""result reuse: a run may be answered from an earlier run with the same inputs

`solve_again` records that the planner asked to solve anyway; `reused_from_id` names the run whose
results answered this one (no foreign key: deleting that run must not touch this one's copy).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:50:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('solve_again', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('reused_from_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('reused_from_id')
        batch_op.drop_column('solve_again')
