"""model builder: a model's time zone; carriers get rate and quantity units and a colour

`carriers.unit` becomes `rate_unit` (what flows are measured in, e.g. kW) beside the new
`quantity_unit` (energy over time, e.g. kWh): the parameter editor converts "5 MW" or
"20 $/kWh" into these units. Models read dates in `time_zone` (IANA name; UTC before).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 19:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('energy_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default='UTC'))
    with op.batch_alter_table('carriers', schema=None) as batch_op:
        batch_op.alter_column('unit', new_column_name='rate_unit', existing_type=sa.String(length=40),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('quantity_unit', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False,
                                      server_default='kWh'))
        batch_op.add_column(sa.Column('color', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('activity_log', schema=None) as batch_op:
        batch_op.create_index('ix_activity_log_model_created', ['model_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('activity_log', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_log_model_created')
    with op.batch_alter_table('carriers', schema=None) as batch_op:
        batch_op.drop_column('color')
        batch_op.drop_column('quantity_unit')
        batch_op.alter_column('rate_unit', new_column_name='unit', existing_type=sa.String(length=40),
                              existing_nullable=False)
    with op.batch_alter_table('energy_models', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
