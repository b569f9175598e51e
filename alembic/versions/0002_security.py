"""security: hashed session tokens, failed-login log for rate limits

Login sessions keep only the sha256 of their token (the browser keeps the token itself);
sessions stored before this migration held raw tokens and are dropped (users log in again).
`login_failures` records failed logins per account and per client address so every app
process sees the same rate limit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 16:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Raw tokens cannot be turned into hashes of themselves without keeping them: drop them.
    op.execute(sa.text("DELETE FROM login_sessions"))
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_token'))
        batch_op.drop_column('token')
        batch_op.add_column(sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False))
        batch_op.create_index(batch_op.f('ix_login_sessions_token_hash'), ['token_hash'], unique=True)

    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('client_ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failures_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_client_ip'), ['client_ip'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_created_at'))
        batch_op.drop_index(batch_op.f('ix_login_failures_client_ip'))
        batch_op.drop_index(batch_op.f('ix_login_failures_email'))
    op.drop_table('login_failures')

    op.execute(sa.text("DELETE FROM login_sessions"))
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_token_hash'))
        batch_op.drop_column('token_hash')
        batch_op.add_column(sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False))
        batch_op.create_index(batch_op.f('ix_login_sessions_token'), ['token'], unique=True)
