"""scenarios and archives: group constraints of a scenario; uploads that are model archives

`scenario_constraints` holds a scenario's group constraints (a template name and the planner's
typed choices), compiled into Calliope custom math on export. `uploads.model_id` becomes
nullable: an uploaded model archive has no model until its import job has made one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 01:00:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('scenario_constraints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('template', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scenario_id', 'name', name='uq_scenario_constraint_name')
    )
    with op.batch_alter_table('scenario_constraints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenario_constraints_scenario_id'), ['scenario_id'], unique=False)
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.alter_column('model_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Archive uploads that never made a model cannot keep a NULL model id.
    op.execute("DELETE FROM uploads WHERE model_id IS NULL")
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.alter_column('model_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('scenario_constraints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenario_constraints_scenario_id'))
    op.drop_table('scenario_constraints')
