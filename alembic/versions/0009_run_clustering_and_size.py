"""runs: time clustering into representative days, and the size of the built problem

`cluster_days` is the run option (NULL: every day is solved); `size` holds the timesteps,
variables and constraints the solve job counted, from which later runs are estimated.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 04:30:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cluster_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('size', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('size')
        batch_op.drop_column('cluster_days')
