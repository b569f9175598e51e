"""A stored timeseries comes back exactly as it went in, small, and garbage is refused."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from engage_reflex.models.series_blob import (
    pack_series,
    series_from_lists,
    unpack_series,
    unpack_stored,
)


def hourly_year() -> np.ndarray:
    return np.arange("2023-01-01T00", "2024-01-01T00", dtype="datetime64[h]")


def round_trip(stamps, values):
    return unpack_series(pack_series(np.asarray(stamps), np.asarray(values, dtype=float)))


def test_a_regular_hourly_year_round_trips_exactly():
    stamps = hourly_year()
    values = np.random.default_rng(1).normal(size=len(stamps))
    back_stamps, back_values = round_trip(stamps, values)
    assert back_stamps.dtype == np.dtype("datetime64[s]") and back_values.dtype == np.float64
    assert np.array_equal(back_stamps, stamps.astype("datetime64[s]"))
    assert back_values.tobytes() == values.tobytes()


def test_irregular_times_before_and_after_1970_round_trip():
    stamps = np.array(["1901-03-04T05:06:07", "1969-12-31T23:59:59", "1970-01-01T00:00:00",
                       "2024-02-29T12:00:00", "2024-03-01T00:00:01", "2262-01-01T00:00:00"], dtype="datetime64[s]")
    values = np.arange(len(stamps), dtype=float)
    back_stamps, back_values = round_trip(stamps, values)
    assert back_stamps.tolist() == stamps.tolist() and back_values.tolist() == values.tolist()


def test_nan_and_infinities_round_trip_bit_for_bit():
    stamps = np.arange("2024-01-01", "2024-01-06", dtype="datetime64[D]")
    values = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324])
    _, back = round_trip(stamps, values)
    assert back.tobytes() == values.tobytes()


def test_an_empty_series_round_trips():
    stamps, values = round_trip(np.array([], dtype="datetime64[s]"), [])
    assert len(stamps) == 0 and len(values) == 0 and stamps.dtype == np.dtype("datetime64[s]")


def test_times_keep_whole_seconds_only():
    stamps = np.array(["2024-01-01T00:00:00.250", "2024-01-01T00:00:01.999"], dtype="datetime64[ms]")
    back, _ = round_trip(stamps, [1.0, 2.0])
    assert back.tolist() == np.array(["2024-01-01T00:00:00", "2024-01-01T00:00:01"], dtype="datetime64[s]").tolist()


def test_iso_strings_and_none_values():
    blob = series_from_lists(["2024-06-30T22:00:00", "2024-06-30T23:00:00"], [1.5, None])
    stamps, values = unpack_series(blob)
    assert np.datetime_as_string(stamps, unit="s").tolist() == ["2024-06-30T22:00:00", "2024-06-30T23:00:00"]
    assert values[0] == 1.5 and np.isnan(values[1])


def test_iso_strings_with_an_offset_are_stored_in_utc():
    stamps, _ = unpack_series(series_from_lists(["2024-07-01T00:00:00+02:00", "2024-07-01T01:00:00Z"], [1, 2]))
    assert np.datetime_as_string(stamps, unit="s").tolist() == ["2024-06-30T22:00:00", "2024-07-01T01:00:00"]


def test_unequal_lengths_are_refused():
    with pytest.raises(ValueError, match="3 timestamps but 2 values"):
        pack_series(hourly_year()[:3], np.array([1.0, 2.0]))


def test_missing_times_are_refused():
    with pytest.raises(ValueError, match="NaT"):
        pack_series(np.array(["2024-01-01", "NaT"], dtype="datetime64[s]"), np.array([1.0, 2.0]))


def _forged(count_times: int, count_values: int, payload: bytes) -> bytes:
    return struct.pack("<4sQQ", b"ETS1", count_times, count_values) + zlib.compress(payload)


@pytest.mark.parametrize("blob", [
    b"",
    b"ETS",
    b"not a series at all, just some bytes",
    b"ETS2" + pack_series(hourly_year()[:2], np.ones(2))[4:],  # a version this code does not know
    pack_series(hourly_year()[:24], np.ones(24))[:-5],  # truncated
    pack_series(hourly_year()[:24], np.ones(24)) + b"extra",
    _forged(2, 3, bytes(40)),  # counts disagree
    _forged(3, 3, bytes(40)),  # payload shorter than the counts say
    _forged(1, 1, bytes(40)),  # payload longer than the counts say
    _forged(2**40, 2**40, bytes(16)),  # a huge count must not allocate a huge buffer
    struct.pack("<4sQQ", b"ETS1", 1, 1) + b"\x00" * 16,  # not zlib
])
def test_anything_that_is_not_a_stored_series_is_refused(blob):
    with pytest.raises(ValueError):
        unpack_series(blob)


def test_an_empty_column_reads_as_an_empty_series():
    stamps, values = unpack_stored(b"")
    assert len(stamps) == len(values) == 0


def test_a_regular_hourly_year_is_small():
    stamps = hourly_year()
    random_values = np.random.default_rng(2).random(len(stamps))
    assert len(pack_series(stamps, random_values)) < 75_000  # about 8 bytes per value, times nearly free
    assert len(pack_series(stamps, np.full(len(stamps), 0.75))) < 1_000
