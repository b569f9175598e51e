"""Timeseries uploads end to end below the browser: a stored file, the short-queue jobs that read and
clean it (a real worker once, the job functions directly otherwise), what the Upload row says, and
that nothing is half-stored when a file is refused."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import ActivityLog, Collaborator, EnergyModel, Timeseries, Upload
from engage_reflex.models.series_blob import unpack_series
from engage_reflex.services import uploads
from engage_reflex.services.errors import EngageError, PermissionDenied
from jobs import uploads as upload_jobs
from tests.jobs.conftest import start_worker

# Berlin, European Excel: `;` between fields, `,` decimals, the autumn DST change (02:00-02:59 twice).
BERLIN_CSV = (
    "Zeit;Last Haus;Last Gewerbe;Kommentar\n"
    "27.10.2024 00:00;1,5;10,25;a\n"
    "27.10.2024 01:00;1,6;10,5;b\n"
    "27.10.2024 02:00;1,7;10,75;c\n"
    "27.10.2024 02:00;1,8;11;d\n"
    "27.10.2024 03:00;1,9;11,25;e\n"
    "27.10.2024 04:00;2,0;11,5;f\n"
)


@pytest.fixture
def berlin(session, owner, other):
    model = EnergyModel(name="Berlin", owner_id=owner.id, time_zone="Europe/Berlin")
    session.add(model)
    session.commit()
    session.add(Collaborator(model_id=model.id, user_id=other.id, can_edit=False))
    session.commit()
    return model.id


def _incoming(text: str | bytes) -> tuple[Path, int]:
    path = uploads.incoming_path()
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(data)
    return path, len(data)


def _start(db_url, user_id, model_id, text, filename="last.csv"):
    path, size = _incoming(text)
    with session_scope(db_url) as session:
        return uploads.start_timeseries_upload(session=session, user_id=user_id, model_id=model_id,
                                               filename=filename, incoming=path, size_bytes=size)


def _view(db_url, user_id, upload_id):
    with session_scope(db_url) as session:
        return uploads.upload_view(session=session, user_id=user_id, upload_id=upload_id)


def _series(db_url, model_id):
    with session_scope(db_url) as session:
        rows = session.exec(select(Timeseries).where(Timeseries.model_id == model_id).order_by(Timeseries.name)).all()
        return [(r.name, *_lists(r.data), r.unit) for r in rows]


def _lists(blob: bytes) -> tuple[list[str], list[float]]:
    """The stored series as ISO strings (UTC) and floats."""
    stamps, values = unpack_series(blob)
    return np.datetime_as_string(stamps, unit="s").tolist(), values.tolist()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_real_worker_reads_then_stores_a_berlin_csv_in_utc(db_url, redis_url, owner, berlin):
    view = _start(db_url, owner.id, berlin, BERLIN_CSV)
    assert view.status == "queued" and view.step == "inspect"
    proc = start_worker("short")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out

    view = _view(db_url, owner.id, view.id)
    assert view.status == "inspected", view.message
    assert [c.name for c in view.columns] == ["Zeit", "Last Haus", "Last Gewerbe", "Kommentar"]
    assert view.timestamp_column == "Zeit" and view.delimiter == ";" and view.decimal == ","
    assert view.data_rows == 6 and view.progress == 1.0

    with session_scope(db_url) as session:
        view = uploads.choose_series(session=session, user_id=owner.id, upload_id=view.id, timestamp_column="Zeit",
                                     series=[("Last Haus", "house"), ("Last Gewerbe", "business")], unit="kW")
    assert view.status == "queued" and view.step == "clean"
    proc = start_worker("short")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out

    view = _view(db_url, owner.id, view.id)
    assert view.status == "succeeded", (view.message, view.problems)
    assert set(view.stored) == {"house", "business"}
    stored = dict((name, (stamps, values, unit)) for name, stamps, values, unit in _series(db_url, berlin))
    stamps, values, unit = stored["house"]
    # 00:00 CEST is 22:00 UTC the day before; the doubled 02:00 is 00:00 and 01:00 UTC.
    assert stamps[0].startswith("2024-10-26T22:00") and stamps[-1].startswith("2024-10-27T03:00")
    assert values == [1.5, 1.6, 1.7, 1.8, 1.9, 2.0] and unit == "kW"
    assert stored["business"][1][0] == 10.25
    assert not (uploads.uploads_dir() / str(view.id)).exists(), "the stored file is removed once its series are in"
    with session_scope(db_url) as session:
        actions = session.exec(select(ActivityLog.action).where(ActivityLog.model_id == berlin)).all()
    assert "timeseries.upload" in actions


def test_a_refused_file_stores_nothing_and_can_be_discarded(db_url, redis_url, owner, berlin):
    bad = "time,demand\n2024-01-01 00:00,1\n2024-01-01 01:00,12 kW\n2024-01-01 02:00,3\n"
    view = _start(db_url, owner.id, berlin, bad)
    upload_jobs.inspect_upload(view.id)
    with session_scope(db_url) as session:
        uploads.choose_series(session=session, user_id=owner.id, upload_id=view.id, timestamp_column="time",
                              series=[("demand", "demand")])
    upload_jobs.clean_upload(view.id)
    view = _view(db_url, owner.id, view.id)
    assert view.status == "failed"
    refused = [p for p in view.problems if p.refused]
    assert refused and refused[0].row == 3 and "12 kW" in refused[0].message, view.problems
    assert _series(db_url, berlin) == []
    assert (uploads.uploads_dir() / str(view.id) / "original").is_file(), "kept for another try"

    with session_scope(db_url) as session:
        assert uploads.discard_upload(session=session, user_id=owner.id, upload_id=view.id) == "last.csv"
    with session_scope(db_url) as session:
        assert session.get(Upload, view.id) is None
    assert not (uploads.uploads_dir() / str(view.id)).exists()


def test_one_value_per_hour_from_a_start_date(db_url, redis_url, owner, berlin):
    view = _start(db_url, owner.id, berlin, "wind\n0,1\n0,2\n0,3\n", filename="wind.txt")
    upload_jobs.inspect_upload(view.id)
    with session_scope(db_url) as session:
        uploads.choose_series(session=session, user_id=owner.id, upload_id=view.id, start="2024-07-01 00:00",
                              step_minutes=60, series=[("wind", "wind cf")])
    assert upload_jobs.clean_upload(view.id) == "stored", _view(db_url, owner.id, view.id).message
    [(name, stamps, values, _unit)] = _series(db_url, berlin)
    assert name == "wind cf" and values == [0.1, 0.2, 0.3]
    assert stamps[0].startswith("2024-06-30T22:00")  # midnight in Berlin's summer is 22:00 UTC


def test_choices_are_checked_before_anything_is_queued(db_url, redis_url, owner, berlin):
    view = _start(db_url, owner.id, berlin, BERLIN_CSV)
    upload_jobs.inspect_upload(view.id)
    with session_scope(db_url) as session:
        session.add(Timeseries(model_id=berlin, name="House"))
    cases = [
        ({"series": [], "timestamp_column": "Zeit"}, "Tick at least one value column"),
        ({"series": [("Last Haus", "")], "timestamp_column": "Zeit"}, "Give the series from column “Last Haus” a name"),
        ({"series": [("Last Haus", "a"), ("Last Gewerbe", "A")], "timestamp_column": "Zeit"}, "Two series are called"),
        ({"series": [("Last Haus", "house")], "timestamp_column": "Zeit"}, "already has a series called “House”"),
        ({"series": [("Zeit", "t")], "timestamp_column": "Zeit"}, "cannot also be a value column"),
        ({"series": [("Nope", "x")], "timestamp_column": "Zeit"}, "The file has no column “Nope”"),
        ({"series": [("Last Haus", "x")], "start": "next monday"}, "Give the date and time of the first value"),
    ]
    for kwargs, expected in cases:
        with session_scope(db_url) as session, pytest.raises(EngageError) as info:
            uploads.choose_series(session=session, user_id=owner.id, upload_id=view.id, **kwargs)
        assert expected in info.value.message, (kwargs, info.value.message)
    assert _view(db_url, owner.id, view.id).status == "inspected"


def test_viewers_cannot_upload_and_bad_names_are_refused(db_url, redis_url, other, owner, berlin):
    path, size = _incoming(BERLIN_CSV)
    with session_scope(db_url) as session, pytest.raises(PermissionDenied):
        uploads.start_timeseries_upload(session=session, user_id=other.id, model_id=berlin, filename="x.csv",
                                        incoming=path, size_bytes=size)
    assert not path.exists(), "a refused upload leaves no file behind"
    for filename, expected in [("profile.xlsx", "is not a CSV file"), ("", "has no name")]:
        path, size = _incoming(BERLIN_CSV)
        with session_scope(db_url) as session, pytest.raises(EngageError) as info:
            uploads.start_timeseries_upload(session=session, user_id=owner.id, model_id=berlin, filename=filename,
                                            incoming=path, size_bytes=size)
        assert expected in info.value.message
    path, _ = _incoming(b"")
    with session_scope(db_url) as session, pytest.raises(EngageError, match="is empty"):
        uploads.start_timeseries_upload(session=session, user_id=owner.id, model_id=berlin, filename="e.csv",
                                        incoming=path, size_bytes=0)
    with session_scope(db_url) as session:
        assert session.exec(select(Upload)).all() == []


def test_a_job_that_vanished_is_reported_and_reading_again_works(db_url, redis_url, owner, berlin):
    view = _start(db_url, owner.id, berlin, BERLIN_CSV)
    with session_scope(db_url) as session:  # as if a worker took it and died without a word
        row = session.get(Upload, view.id)
        row.status, row.rq_job_id = "processing", "upload-0-inspect-gone"
        session.add(row)
    view = _view(db_url, owner.id, view.id)
    assert view.status == "failed" and view.message == uploads.WORKER_LOST_MESSAGE

    with session_scope(db_url) as session:
        view = uploads.reread_upload(session=session, user_id=owner.id, upload_id=view.id, delimiter=";",
                                     decimal=",", header_row=1)
    assert view.status == "queued"
    upload_jobs.inspect_upload(view.id)
    assert _view(db_url, owner.id, view.id).status == "inspected"
    with session_scope(db_url) as session, pytest.raises(EngageError, match="cannot be the column separator"):
        uploads.reread_upload(session=session, user_id=owner.id, upload_id=view.id, delimiter=",", decimal=",",
                              header_row=1)


def test_queue_down_fails_the_upload_with_a_clear_message(db_url, monkeypatch, owner, berlin):
    from engage_reflex.settings import get_settings

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        with pytest.raises(EngageError) as info:
            _start(db_url, owner.id, berlin, BERLIN_CSV)
    finally:
        get_settings.cache_clear()
    assert "job queue does not answer" in info.value.message
    with session_scope(db_url) as session:
        [row] = session.exec(select(Upload)).all()
        assert row.status == "failed" and "job queue" in row.message


_CELLS = st.sampled_from(["", "1", "2,5", "3.5", "NA", "abc", '"a,b"', "2024-01-01 00:00", "2024-01-01 01:00",
                          "31.12.2024 23:00", "2024-03-31 02:30", "2024-10-27 02:00", "1e400", '"', "\u00e4"])
_FILES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.lists(_CELLS, min_size=1, max_size=4).map(";".join), min_size=1, max_size=10)
    .map(lambda lines: "\n".join(["time;a;b", *lines]).encode("utf-8")),
)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_FILES)
def test_random_files_end_stored_or_refused_in_words_never_half_stored(content, db_url, redis_url, owner, berlin):
    """Whatever the bytes, both jobs end with a clear status, never Engage's own fault, and the model
    holds the chosen series whole or not at all."""
    if not content:
        return  # refused before any job: covered above
    view = _start(db_url, owner.id, berlin, content, filename=f"random-{uuid.uuid4().hex[:6]}.csv")
    assert upload_jobs.inspect_upload(view.id) in ("inspected", "refused")
    view = _view(db_url, owner.id, view.id)
    assert view.message != upload_jobs.ENGAGE_FAULT, view
    if view.status == "inspected":
        values = [c.name for c in view.columns if c.name != view.timestamp_column][:2]
        if values:
            names = [(c, f"s{uuid.uuid4().hex[:8]}") for c in values]
            with session_scope(db_url) as session:
                uploads.choose_series(session=session, user_id=owner.id, upload_id=view.id, series=names,
                                      timestamp_column=view.timestamp_column,
                                      start="" if view.timestamp_column else "2024-01-01 00:00")
            outcome = upload_jobs.clean_upload(view.id)
            view = _view(db_url, owner.id, view.id)
            assert view.message != upload_jobs.ENGAGE_FAULT, view
            stored = {name for name, *_ in _series(db_url, berlin)}
            if outcome == "stored":
                assert {n for _, n in names} <= stored
            else:
                assert view.status == "failed" and not ({n for _, n in names} & stored), view
