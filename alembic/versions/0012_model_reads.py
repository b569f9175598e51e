"""activity: when each person last read a model's activity and comments (unread counts)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 14:20:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'model_reads',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('model_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['model_id'], ['energy_models.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'model_id'),
    )
    with op.batch_alter_table('model_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_reads_model_id'), ['model_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('model_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_reads_model_id'))
    op.drop_table('model_reads')
