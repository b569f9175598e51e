"""One timeseries (times and values) as one compact, versioned binary blob.

Layout: an uncompressed header `b"ETS1" + uint64 time count + uint64 value count` (little
endian), then zlib (level 6) of the payload: the first time and the differences between
neighbouring times as int64 seconds (a regular step is the same 8 bytes over and over, which
zlib squeezes to almost nothing), followed by the values as raw float64 (NaN and +-inf kept
bit for bit). Times are naive UTC with a precision of one second: sub-second parts are dropped.

Only numpy, zlib and struct: a blob is data, never code (no pickle).
"""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime

import numpy as np

MAGIC = b"ETS1"
_HEADER = struct.Struct("<4sQQ")
_LEVEL = 6
_ITEM = 8  # bytes per int64 time and per float64 value


def pack_series(timestamps: np.ndarray, values: np.ndarray) -> bytes:
    """Blob of equally long times (datetime64 of any unit, naive UTC) and float values."""
    stamps = np.asarray(timestamps)
    if stamps.size and not np.issubdtype(stamps.dtype, np.datetime64):
        raise ValueError(f"timestamps must be datetime64, not {stamps.dtype}")
    stamps = stamps.astype("datetime64[s]").ravel()
    numbers = np.asarray(values, dtype=np.float64).ravel()
    if len(stamps) != len(numbers):
        raise ValueError(f"{len(stamps)} timestamps but {len(numbers)} values")
    if np.isnat(stamps).any():
        raise ValueError("timestamps contain NaT (a missing time)")
    seconds = stamps.astype(np.int64)
    deltas = np.diff(seconds, prepend=np.int64(0))  # first stamp, then steps
    payload = deltas.astype("<i8").tobytes() + numbers.astype("<f8").tobytes()
    return _HEADER.pack(MAGIC, len(seconds), len(numbers)) + zlib.compress(payload, _LEVEL)


def unpack_series(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(datetime64[s] naive UTC, float64) of a blob; ValueError on anything that is not one."""
    blob = bytes(blob)  # PostgreSQL's driver hands over a memoryview
    if len(blob) < _HEADER.size or blob[:4] != MAGIC:
        raise ValueError("not a stored timeseries (unknown header)")
    _, n_stamps, n_values = _HEADER.unpack_from(blob)
    if n_stamps != n_values:
        raise ValueError(f"stored timeseries is damaged: {n_stamps} times but {n_values} values")
    expected = 2 * _ITEM * n_stamps
    try:
        # max_length: a forged count cannot make us allocate more than the header promised.
        inflater = zlib.decompressobj()
        payload = inflater.decompress(blob[_HEADER.size:], expected + 1)
    except zlib.error as exc:
        raise ValueError(f"stored timeseries is damaged: {exc}") from None
    if len(payload) != expected or not inflater.eof or inflater.unused_data:
        raise ValueError("stored timeseries is damaged: its length does not match its header")
    split = _ITEM * n_stamps
    # cumsum in int64 wraps exactly as np.diff did, so every stamp comes back bit for bit.
    seconds = np.cumsum(np.frombuffer(payload[:split], dtype="<i8"), dtype=np.int64)
    values = np.frombuffer(payload[split:], dtype="<f8").astype(np.float64)
    return seconds.astype("datetime64[s]"), values


def unpack_stored(blob: bytes | None) -> tuple[np.ndarray, np.ndarray]:
    """`unpack_series`, but an empty column (a row written without data) reads as an empty series."""
    if not blob:
        return np.array([], dtype="datetime64[s]"), np.array([], dtype=np.float64)
    return unpack_series(blob)


def series_from_lists(timestamps: list[str], values: list) -> bytes:
    """Blob of ISO time strings ("YYYY-MM-DDTHH:MM:SS", naive UTC; an offset is converted to UTC)
    and floats (None = NaN)."""
    return pack_series(_parse_iso(timestamps), np.array(values, dtype=np.float64))


def _parse_iso(texts: list[str]) -> np.ndarray:
    if all(len(text) == 19 for text in texts):  # the usual, naive form: numpy parses it fastest
        return np.array(texts, dtype="datetime64[s]")
    return np.array([_naive_utc(datetime.fromisoformat(text)) for text in texts], dtype="datetime64[s]")


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


__all__ = ["MAGIC", "pack_series", "series_from_lists", "unpack_series", "unpack_stored"]
