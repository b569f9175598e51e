"""accounts: the optional daily digest email (off unless turned on) and the day it was last sent

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 14:30:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('daily_digest', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('digest_day', sa.String(length=10), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('digest_day')
        batch_op.drop_column('daily_digest')
