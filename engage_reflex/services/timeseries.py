"""Timeseries of a model: list, store cleaned uploads, preview (downsampled), rename, delete.

Series are stored as one blob of naive UTC times and float values (models/series_blob.py);
planners read times in the model's time zone, so every label shown is converted to it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from engage_reflex.models import (
    EnergyModel,
    Link,
    LinkParameter,
    Location,
    ModelParameter,
    Node,
    NodeParameter,
    TechParameter,
    Technology,
    Timeseries,
)
from engage_reflex.models.series_blob import pack_series, unpack_stored
from engage_reflex.schemas.timeseries import SeriesPreview, SeriesRow
from engage_reflex.services.access import open_to_visitors, require_edit, require_view
from engage_reflex.services.activity import record_change
from engage_reflex.services.errors import EngageError, NotFound

NAME_MAX = 200
UNIT_MAX = 40
FILENAME_MAX = 300
GAPS_SHOWN = 20
USERS_NAMED = 10
LABEL_FORMAT = "%Y-%m-%d %H:%M"
_GONE = "This timeseries is not in this model (it may have been deleted in another tab). Reload the page."


class CleanSeriesLike(Protocol):
    """What the CSV parser hands over: one named, cleaned column of a file."""

    name: str
    column: str
    timestamps: np.ndarray  # datetime64, naive UTC, strictly increasing
    values: np.ndarray  # float64, finite


# ------------------------------------------------------------------ time zone and labels


def model_zone(model: EnergyModel) -> str:
    """The model's IANA zone; "UTC" when none (or an unknown one) is set."""
    zone = (model.time_zone or "").strip()
    try:
        ZoneInfo(zone)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        return "UTC"
    return zone


def _labels(stamps: np.ndarray, zone: str) -> list[str]:
    """datetime64 (naive UTC) -> "YYYY-MM-DD HH:MM" in `zone`."""
    index = pd.DatetimeIndex(stamps).tz_localize("UTC")
    if zone != "UTC":
        index = index.tz_convert(zone)
    return index.strftime(LABEL_FORMAT).tolist()


def _label(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return ""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(ZoneInfo(zone)).strftime(LABEL_FORMAT)


def _naive_utc(moment: datetime) -> np.datetime64:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(moment, "s")


# ------------------------------------------------------------------ reading rows


def _series(session: Session, model_id: int, series_id: int, *, with_data: bool = False) -> Timeseries:
    query = select(Timeseries).where(Timeseries.id == series_id, Timeseries.model_id == model_id)
    if not with_data:  # a blob can hold 760k points: load it only to draw them
        query = query.options(defer(Timeseries.data))
    series = session.exec(query).first()
    if series is None:
        raise NotFound(_GONE)
    return series


def _usage_text(name: str, index_key: str, year: int | None, level: str, tech: str | None,
                location: str | None, link: str | None) -> str:
    label = name + (f" [{index_key.replace('|', ', ')}]" if index_key else "") + (f" in {year}" if year else "")
    if level == "model":
        return f"{label} (model)"
    if level == "node":
        return f"{label} of {tech} at {location}"
    return f"{label} of {tech if level == 'tech' else link}"


def _usage(session: Session, model_id: int, series_ids: Sequence[int] | None = None) -> dict[int, tuple[str, ...]]:
    """{series id: planner text of every parameter value that points at it}, in one query."""
    text = sa.cast(sa.null(), sa.String)

    def level(table, name: str, *owner):
        query = select(table.timeseries_id, table.name, table.index_key, table.year,
                       sa.cast(sa.literal(name), sa.String), *owner)
        query = query.where(table.timeseries_id.is_not(None))
        return query.where(table.timeseries_id.in_(series_ids)) if series_ids is not None else query

    union = sa.union_all(
        level(ModelParameter, "model", text, text, text).where(ModelParameter.model_id == model_id),
        level(TechParameter, "tech", Technology.name, text, text)
        .join(Technology, Technology.id == TechParameter.technology_id).where(Technology.model_id == model_id),
        level(NodeParameter, "node", Technology.name, Location.name, text)
        .join(Node, Node.id == NodeParameter.node_id).join(Technology, Technology.id == Node.technology_id)
        .join(Location, Location.id == Node.location_id).where(Node.model_id == model_id),
        level(LinkParameter, "link", text, text, Link.name)
        .join(Link, Link.id == LinkParameter.link_id).where(Link.model_id == model_id),
    )
    found: dict[int, set[str]] = {}
    for series_id, *fields in session.execute(union).all():
        found.setdefault(series_id, set()).add(_usage_text(*fields))
    return {key: tuple(sorted(texts, key=lambda t: (t.lower(), t))) for key, texts in found.items()}


def _step_minutes(blob: bytes | None) -> int:
    # The step from the first two stamps: exact for uploads (regular by construction). Unpacking
    # costs well under a millisecond for an hourly year (the times are deltas; zlib is fast).
    stamps, _ = unpack_stored(blob)
    if len(stamps) < 2:
        return 0
    return round(int((stamps[1] - stamps[0]).astype("timedelta64[s]").astype(np.int64)) / 60)


def _rows(session: Session, model: EnergyModel, series_ids: Sequence[int] | None = None) -> list[SeriesRow]:
    """Rows sorted by name, each series' step read from its blob."""
    columns = (Timeseries.id, Timeseries.name, Timeseries.unit, Timeseries.description,
               Timeseries.source_filename, Timeseries.start, Timeseries.end, Timeseries.length,
               Timeseries.data)
    query = select(*columns).where(Timeseries.model_id == model.id)
    if series_ids is not None:
        query = query.where(Timeseries.id.in_(series_ids))
    zone = model_zone(model)
    used = _usage(session, model.id, series_ids)
    rows = [
        SeriesRow(id=sid, name=name, unit=unit or "", description=description or "",
                  source_filename=source or "", start=_label(start, zone), end=_label(end, zone),
                  length=length or 0, step_minutes=_step_minutes(blob), used_by=used.get(sid, ()),
                  time_zone=zone)
        for sid, name, unit, description, source, start, end, length, blob in session.execute(query).all()
    ]
    return sorted(rows, key=lambda r: (r.name.lower(), r.name))


@open_to_visitors
def list_series(*, session: Session, user_id: int | None, model_id: int) -> list[SeriesRow]:
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    return _rows(session, model)


# ------------------------------------------------------------------ names


def _free_name(name: str, taken: set[str]) -> str:
    """`name 2`, `name 3`, ... : the first that is not taken (lower-case keys)."""
    number = 2
    while True:
        suffix = f" {number}"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
        number += 1


def _clean_name(raw: object, *, where: str) -> str:
    name = "" if raw is None else str(raw).strip()
    if not name:
        raise EngageError(f"Give the timeseries {where}a name.")
    if len(name) > NAME_MAX:
        raise EngageError(f"The timeseries name “{name[:30]}…” {where}is {len(name)} characters long; "
                          f"keep it to {NAME_MAX}.")
    return name


def _existing_names(session: Session, model_id: int, *, except_id: int | None = None) -> dict[str, str]:
    rows = session.exec(select(Timeseries.id, Timeseries.name).where(Timeseries.model_id == model_id)).all()
    return {name.lower(): name for sid, name in rows if sid != except_id}


def _clash(name: str, other: str, taken: set[str], where: str = "") -> EngageError:
    same = "" if other == name else f" (“{other}” differs only in capital letters)"
    return EngageError(f"There is already a timeseries called “{other}” in this model{same}{where}; choose "
                       f"another name, e.g. “{_free_name(name, taken)}”.")


# ------------------------------------------------------------------ storing uploads


def _arrays(item: CleanSeriesLike, where: str) -> tuple[np.ndarray, np.ndarray]:
    stamps = np.asarray(item.timestamps).astype("datetime64[s]")
    values = np.asarray(item.values, dtype=float)
    if len(stamps) == 0:
        raise EngageError(f"{where[0].upper()}{where[1:]} has no values.")
    if len(stamps) != len(values):
        raise EngageError(f"{where[0].upper()}{where[1:]} has {len(stamps)} times but {len(values)} values.")
    if not np.isfinite(values).all():
        raise EngageError(f"{where[0].upper()}{where[1:]} has empty or non-numeric values.")
    if len(stamps) > 1 and not (np.diff(stamps) > np.timedelta64(0, "s")).all():
        raise EngageError(f"The times of {where} are not in increasing order or repeat.")
    return stamps, values


def _aware(stamp: np.datetime64) -> datetime:
    # The column (sqlmodel's UTCDateTime) refuses naive datetimes.
    return stamp.astype(datetime).replace(tzinfo=UTC)


def _new_series(model_id: int, name: str, stamps: np.ndarray, values: np.ndarray, *, unit: str,
                source: str) -> Timeseries:
    return Timeseries(
        model_id=model_id, name=name, unit=unit, source_filename=source, description="",
        start=_aware(stamps[0]), end=_aware(stamps[-1]), length=len(stamps),
        data=pack_series(stamps, values),
    )


def _clean_unit(unit: str) -> str:
    unit = (unit or "").strip()
    if len(unit) > UNIT_MAX:
        raise EngageError(f"The unit “{unit[:20]}…” is {len(unit)} characters long; keep it to {UNIT_MAX}.")
    return unit


def store_series(*, session: Session, user_id: int | None, model_id: int, series: Sequence[CleanSeriesLike],
                 source_filename: str, unit: str = "") -> list[SeriesRow]:
    """Add every cleaned series of one uploaded file, or none of them (EngageError naming the problem)."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    source = (source_filename or "").strip()[:FILENAME_MAX]
    file = source or "the file"
    if not series:
        raise EngageError(f"There is no timeseries in {file} to store.")
    unit = _clean_unit(unit)
    existing = _existing_names(session, model_id)
    in_upload: dict[str, CleanSeriesLike] = {}
    new_rows = []
    for item in series:
        where = f"column “{item.column}” of {file}"
        name = _clean_name(item.name, where=f"of {where} ")
        key = name.lower()
        if key in in_upload:
            first = in_upload[key]
            same = "" if first.name.strip() == name else f" (“{name}” differs only in capital letters)"
            raise EngageError(f"Columns “{first.column}” and “{item.column}” of {file} both become the "
                              f"timeseries “{first.name.strip()}”{same}; give them different names.")
        if key in existing:
            raise _clash(name, existing[key], set(existing) | set(in_upload), where=f" ({where})")
        in_upload[key] = item
        new_rows.append(_new_series(model_id, name, *_arrays(item, where), unit=unit, source=source))
    session.add_all(new_rows)
    session.flush()
    _time_steps_follow_the_data(session, model_id)
    record_change(session=session, model=model, user_id=user_id, action="timeseries.upload",
                  detail=f"Uploaded {len(new_rows)} timeseries from {file}")
    return _rows(session, model, [row.id for row in new_rows])


def _time_steps_follow_the_data(session: Session, model_id: int) -> None:
    """A model made in the browser starts with a week of placeholder time steps (models.create_model).
    Once real series exist, that placeholder covers exactly their time steps: otherwise Calliope's time
    axis would be the union of both, and a run over the default span would meet a week with no data."""
    from engage_reflex.services.models import TIME_STEPS_NAME, TIME_STEPS_PARAMETER

    placeholder = session.exec(select(Timeseries).join(ModelParameter, ModelParameter.timeseries_id == Timeseries.id)
                               .where(Timeseries.model_id == model_id, Timeseries.name == TIME_STEPS_NAME,
                                      Timeseries.source_filename == "",
                                      ModelParameter.name == TIME_STEPS_PARAMETER)).first()
    if placeholder is None:
        return
    others = session.exec(select(Timeseries.data).where(Timeseries.model_id == model_id,
                                                        Timeseries.id != placeholder.id)).all()
    stamps = np.unique(np.concatenate([unpack_stored(blob)[0] for blob in others] or [np.zeros(0, "datetime64[s]")]))
    if len(stamps) == 0:
        return
    placeholder.data = pack_series(stamps, np.ones(len(stamps)))
    placeholder.start, placeholder.end, placeholder.length = _aware(stamps[0]), _aware(stamps[-1]), len(stamps)
    placeholder.description = "The model's time steps: every time step of its uploaded series."
    session.add(placeholder)
    session.flush()


# ------------------------------------------------------------------ preview


def _stored_arrays(series: Timeseries) -> tuple[np.ndarray, np.ndarray]:
    """(datetime64[s] naive UTC, float64) without the points that have no finite value."""
    stamps, values = unpack_stored(series.data)
    keep = np.isfinite(values)
    return stamps[keep], values[keep]


def min_max_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """Positions to draw, at most `max_points`, in time order: all of them when they fit, else the
    minimum and maximum of each of max_points // 2 equal buckets (so every peak and dip stays)."""
    size = len(values)
    if size <= max_points:
        return np.arange(size)
    width = -(-size // (max_points // 2))  # ceil: bucket width
    buckets = -(-size // width)
    padded = np.full(buckets * width, np.nan)
    padded[:size] = values
    grid = padded.reshape(buckets, width)
    offsets = np.arange(buckets) * width
    picks = np.concatenate([offsets + np.nanargmin(grid, axis=1), offsets + np.nanargmax(grid, axis=1)])
    return np.unique(picks)  # sorted (time order); a bucket whose min is its max counts once


def _step_seconds(stamps: np.ndarray) -> int:
    """The most common distance between neighbouring stamps (0 with fewer than two)."""
    if len(stamps) < 2:
        return 0
    diffs = np.diff(stamps).astype("timedelta64[s]").astype(np.int64)
    distinct, counts = np.unique(diffs, return_counts=True)
    return int(distinct[np.argmax(counts)])


def _gaps(stamps: np.ndarray, step: int, zone: str) -> tuple[list[str], int]:
    """Planner text for the first GAPS_SHOWN stretches longer than one step, and how many there are."""
    if step <= 0:
        return [], 0
    diffs = np.diff(stamps).astype("timedelta64[s]").astype(np.int64)
    where = np.flatnonzero(diffs > step)
    shown = where[:GAPS_SHOWN]
    before, after = _labels(stamps[shown], zone), _labels(stamps[shown + 1], zone)
    texts = []
    for position, start, end in zip(shown, before, after, strict=True):
        missing = max(1, round(int(diffs[position]) / step) - 1)
        texts.append(f"{start} → {end} ({missing} step{'' if missing == 1 else 's'} missing)")
    return texts, len(where)


def _window(stamps: np.ndarray, start: datetime | None, end: datetime | None) -> slice:
    if start is not None and end is not None and start > end:
        raise EngageError("The start of the period is after its end; choose an earlier start.")
    low = 0 if start is None else int(np.searchsorted(stamps, _naive_utc(start), side="left"))
    high = len(stamps) if end is None else int(np.searchsorted(stamps, _naive_utc(end), side="right"))
    return slice(low, high)


def series_preview(*, session: Session, user_id: int | None, model_id: int, series_id: int,
                   start: datetime | None = None, end: datetime | None = None,
                   max_points: int = 5000) -> SeriesPreview:
    """The series within [start, end] (naive UTC; None = open), downsampled to at most max_points."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    series = _series(session, model_id, series_id, with_data=True)
    zone = model_zone(model)
    stamps, values = _stored_arrays(series)
    window = _window(stamps, start, end)
    stamps, values = stamps[window], values[window]
    drawn = min_max_indices(values, max(2, int(max_points)))
    step = _step_seconds(stamps)
    gaps, gap_count = _gaps(stamps, step, zone)
    ends = _labels(stamps[[0, -1]], zone) if len(stamps) else ["", ""]
    has_values = len(values) > 0
    return SeriesPreview(
        series_id=series.id, name=series.name, unit=series.unit or "", time_zone=zone,
        x=tuple(_labels(stamps[drawn], zone)), y=tuple(values[drawn].tolist()),
        drawn=len(drawn), total=len(values), first=ends[0], last=ends[-1], gaps=tuple(gaps),
        minimum=float(values.min()) if has_values else None, maximum=float(values.max()) if has_values else None,
        mean=float(values.mean()) if has_values else None, total_sum=float(values.sum()),
        step_minutes=round(step / 60), gap_count=gap_count,
    )


# ------------------------------------------------------------------ rename and delete


def rename_series(*, session: Session, user_id: int | None, model_id: int, series_id: int,
                  name: str) -> SeriesRow:
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    series = _series(session, model_id, series_id)
    name = _clean_name(name, where="")
    old = series.name
    if name != old:
        taken = _existing_names(session, model_id, except_id=series.id)
        if name.lower() in taken:
            raise _clash(name, taken[name.lower()], set(taken) | {old.lower()})
        series.name = name
        session.add(series)
        session.flush()
        record_change(session=session, model=model, user_id=user_id, action="timeseries.rename",
                      detail=f"Renamed timeseries “{old}” to “{name}”")
    return _rows(session, model, [series.id])[0]


def delete_series(*, session: Session, user_id: int | None, model_id: int, series_id: int) -> str:
    """Delete a series no parameter uses; refused, naming the parameters, while any does."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    series = _series(session, model_id, series_id)
    used_by = _usage(session, model_id, [series.id]).get(series.id, ())
    if used_by:
        named = "; ".join(used_by[:USERS_NAMED])
        more = f" and {len(used_by) - USERS_NAMED} more" if len(used_by) > USERS_NAMED else ""
        raise EngageError(f"“{series.name}” cannot be deleted: used by {named}{more}; detach it there first.")
    name = series.name
    session.delete(series)
    session.flush()
    _time_steps_follow_the_data(session, model_id)
    record_change(session=session, model=model, user_id=user_id, action="timeseries.delete",
                  detail=f"Deleted timeseries “{name}”")
    return name


__all__ = ["CleanSeriesLike", "delete_series", "list_series", "min_max_indices", "model_zone", "rename_series",
           "series_preview", "store_series"]


@open_to_visitors
def preview_zoom(*, session: Session, user_id: int | None, model_id: int, series_id: int, start_text: str = "",
                 end_text: str = "", max_points: int = 5000) -> SeriesPreview:
    """`series_preview` of the window a chart was zoomed to: its axis speaks the model's local time
    ("2024-03-05 13:30:00.25"); blank or unreadable ends mean the whole series."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    zone = model_zone(model)
    start, end = _local_to_utc(start_text, zone), _local_to_utc(end_text, zone)
    if start is not None and end is not None and start > end:
        start, end = end, start
    return series_preview(session=session, user_id=user_id, model_id=model_id, series_id=series_id,
                          start=start, end=end, max_points=max_points)


def _local_to_utc(text: str, zone: str) -> datetime | None:
    try:
        moment = pd.Timestamp((text or "").strip())
    except (ValueError, TypeError, OverflowError):
        return None
    if moment is pd.NaT or pd.isna(moment):
        return None
    if moment.tzinfo is None:
        moment = moment.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return moment.tz_convert("UTC").tz_localize(None).to_pydatetime()
