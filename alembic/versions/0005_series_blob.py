"""series blob: a timeseries' times and values become one compressed binary column

`timeseries.timestamps` (JSON list of ISO strings) and `timeseries.values` (JSON list of
floats) become `timeseries.data`, the blob of engage_reflex/models/series_blob.py: an hourly
year shrinks from ~380 KB of JSON to ~70 KB and is read without parsing strings. Rows are
converted in Python, BATCH rows at a time, so memory stays flat on large databases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Sequence, Union

import numpy as np
import sqlalchemy as sa
from alembic import op

from engage_reflex.models.series_blob import series_from_lists, unpack_stored

revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 200  # rows per round trip: an hourly year is ~380 KB of JSON per row

_timeseries = sa.table('timeseries', sa.column('id', sa.Integer), sa.column('timestamps', sa.JSON),
                       sa.column('values', sa.JSON), sa.column('data', sa.LargeBinary))


def _json(value) -> list:
    # SQLite's JSON may come back as text, and a JSON null as None.
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return list(value or [])


def _ids(conn) -> list[int]:
    return list(conn.execute(sa.select(_timeseries.c.id).order_by(_timeseries.c.id)).scalars())


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def _to_blobs(conn) -> None:
    for chunk in _chunks(_ids(conn)):
        rows = conn.execute(sa.select(_timeseries.c.id, _timeseries.c.timestamps, _timeseries.c['values'])
                            .where(_timeseries.c.id.in_(chunk))).all()
        for series_id, stamps, values in rows:
            stamps, values = _json(stamps), _json(values)
            size = min(len(stamps), len(values))  # the old reader dropped an unmatched tail too
            blob = series_from_lists(stamps[:size], values[:size])
            conn.execute(_timeseries.update().where(_timeseries.c.id == series_id).values(data=blob))


def _to_lists(conn) -> None:
    for chunk in _chunks(_ids(conn)):
        rows = conn.execute(sa.select(_timeseries.c.id, _timeseries.c.data).where(_timeseries.c.id.in_(chunk))).all()
        for series_id, blob in rows:
            stamps, values = unpack_stored(blob)
            conn.execute(_timeseries.update().where(_timeseries.c.id == series_id).values(
                timestamps=np.datetime_as_string(stamps, unit='s').tolist(),
                values=[None if math.isnan(v) else v for v in values.tolist()]))


# SQLite cannot change a column in place: batch mode would copy the table and DROP the old one,
# which (foreign keys on) fails or cascades while any parameter points at a series. So on SQLite
# the new column is added NOT NULL with an empty default and the old ones are dropped natively
# (SQLite >= 3.35); PostgreSQL alters the table in place.


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _drop_natively(*columns: str) -> None:
    for column in columns:
        op.execute(sa.text(f'ALTER TABLE timeseries DROP COLUMN "{column}"'))


def upgrade() -> None:
    if _sqlite():
        op.add_column('timeseries', sa.Column('data', sa.LargeBinary(), nullable=False, server_default=sa.text("X''")))
        _to_blobs(op.get_bind())
        _drop_natively('values', 'timestamps')
        return
    op.add_column('timeseries', sa.Column('data', sa.LargeBinary(), nullable=True))
    _to_blobs(op.get_bind())
    with op.batch_alter_table('timeseries', schema=None) as batch_op:
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('values')
        batch_op.drop_column('timestamps')


def downgrade() -> None:
    if _sqlite():
        for column in ('timestamps', 'values'):
            op.add_column('timeseries', sa.Column(column, sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        _to_lists(op.get_bind())
        _drop_natively('data')
        return
    op.add_column('timeseries', sa.Column('timestamps', sa.JSON(), nullable=True))
    op.add_column('timeseries', sa.Column('values', sa.JSON(), nullable=True))
    _to_lists(op.get_bind())
    with op.batch_alter_table('timeseries', schema=None) as batch_op:
        batch_op.alter_column('timestamps', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('values', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('data')
