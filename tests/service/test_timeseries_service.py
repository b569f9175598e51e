"""Timeseries: store an upload, list, preview (downsampled, windowed, gaps, time zone), rename, delete
(SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np
import pytest
from sqlmodel import select

from engage_reflex.models import (
    ActivityLog,
    Collaborator,
    EnergyModel,
    Location,
    ModelParameter,
    Node,
    NodeParameter,
    TechParameter,
    Technology,
    Timeseries,
    User,
)
from engage_reflex.services import timeseries as svc
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied


@dataclasses.dataclass(frozen=True)
class Clean:
    """Shaped like the CSV parser's CleanSeries."""

    name: str
    column: str
    timestamps: np.ndarray
    values: np.ndarray


def hourly(name: str, values, *, start: str = "2024-01-01T00:00", column: str | None = None) -> Clean:
    values = np.asarray(values, dtype=float)
    stamps = np.datetime64(start, "ns") + np.arange(len(values)) * np.timedelta64(1, "h")
    return Clean(name=name, column=column or name, timestamps=stamps, values=values)


def year_with_peak() -> np.ndarray:
    hours = np.arange(8760)
    values = 50 + 20 * np.sin(hours * 2 * np.pi / 24)
    values[4321] = 999.0  # one hour's peak: a plain every-nth-point thinning would lose it
    values[777] = -5.0
    return values


@pytest.fixture
def world(session):
    users = {}
    for key in ("alice", "bob", "carol"):
        users[key] = User(email=f"{key}@example.org", password_hash="x")
        session.add(users[key])
    session.commit()
    model = EnergyModel(name="Island", owner_id=users["alice"].id, time_zone="UTC")
    session.add(model)
    session.commit()
    session.add(Collaborator(model_id=model.id, user_id=users["bob"].id, can_edit=False))
    session.commit()
    return {**{k: u.id for k, u in users.items()}, "model": model.id}


def _store(session, world, *series, source="demand.csv", unit=""):
    rows = svc.store_series(session=session, user_id=world["alice"], model_id=world["model"], series=list(series),
                            source_filename=source, unit=unit)
    session.commit()
    return rows


def _preview(session, world, series_id, **kwargs):
    return svc.series_preview(session=session, user_id=world["bob"], model_id=world["model"],
                              series_id=series_id, **kwargs)


def _refused(session, call, **kwargs) -> str:
    with pytest.raises(EngageError) as info:
        call(session=session, **kwargs)
    session.rollback()
    return info.value.message


def _names(session, world) -> list[str]:
    return [r.name for r in svc.list_series(session=session, user_id=world["alice"], model_id=world["model"])]


def test_store_list_and_a_year_preview_keeps_the_peak(session, world):
    stored = _store(session, world, hourly("demand", year_with_peak()), hourly("Wind", np.ones(8760)),
                    hourly("air temperature", np.zeros(8760)), unit=" kW ")
    assert [r.name for r in stored] == ["air temperature", "demand", "Wind"]
    rows = svc.list_series(session=session, user_id=world["bob"], model_id=world["model"])
    assert rows == stored
    demand = rows[1]
    assert (demand.unit, demand.source_filename, demand.length, demand.step_minutes) == ("kW", "demand.csv", 8760, 60)
    assert (demand.start, demand.end, demand.time_zone, demand.used_by) == (
        "2024-01-01 00:00", "2024-12-30 23:00", "UTC", ())
    assert session.exec(select(ActivityLog.detail).where(ActivityLog.action == "timeseries.upload")).all() == [
        "Uploaded 3 timeseries from demand.csv"]

    preview = _preview(session, world, demand.id)
    assert (preview.total, preview.name, preview.unit) == (8760, "demand", "kW")
    assert preview.drawn == len(preview.x) == len(preview.y) <= 5000
    assert max(preview.y) == 999.0 and min(preview.y) == -5.0
    assert list(preview.x) == sorted(preview.x)
    assert (preview.first, preview.last, preview.gaps, preview.step_minutes) == (
        "2024-01-01 00:00", "2024-12-30 23:00", (), 60)
    assert (preview.minimum, preview.maximum) == (-5.0, 999.0)
    assert preview.total_sum == pytest.approx(year_with_peak().sum())
    assert preview.mean == pytest.approx(year_with_peak().mean())
    assert _preview(session, world, demand.id, max_points=100).drawn <= 100


def test_a_small_window_is_drawn_in_full_detail(session, world):
    values = year_with_peak()
    (row,) = _store(session, world, hourly("demand", values))
    preview = _preview(session, world, row.id, start=datetime(2024, 3, 1), end=datetime(2024, 3, 2))
    assert (preview.total, preview.drawn) == (25, 25)
    first_hour = (31 + 29) * 24
    assert list(preview.y) == values[first_hour:first_hour + 25].tolist()
    assert (preview.x[0], preview.x[-1]) == ("2024-03-01 00:00", "2024-03-02 00:00")
    assert (preview.first, preview.last) == ("2024-03-01 00:00", "2024-03-02 00:00")
    assert preview.maximum == max(values[first_hour:first_hour + 25])
    empty = _preview(session, world, row.id, start=datetime(2025, 6, 1))
    assert (empty.total, empty.x, empty.minimum, empty.total_sum) == (0, (), None, 0.0)
    assert "after its end" in _refused(session, svc.series_preview, user_id=world["bob"], model_id=world["model"],
                                       series_id=row.id, start=datetime(2024, 3, 2), end=datetime(2024, 3, 1))


def test_gaps_are_named_with_the_missing_steps(session, world):
    stamps = np.datetime64("2024-03-05T00:00", "ns") + np.arange(48) * np.timedelta64(1, "h")
    keep = ~np.isin(np.arange(48), [14, 15, 16, 30])
    series = Clean(name="solar", column="solar", timestamps=stamps[keep], values=np.ones(keep.sum()))
    (row,) = _store(session, world, series)
    preview = _preview(session, world, row.id)
    assert preview.gaps == ("2024-03-05 13:00 → 2024-03-05 17:00 (3 steps missing)",
                            "2024-03-06 05:00 → 2024-03-06 07:00 (1 step missing)")
    assert (preview.gap_count, preview.step_minutes, preview.total) == (2, 60, 44)


def test_labels_are_in_the_models_time_zone(session, world):
    model = session.get(EnergyModel, world["model"])
    model.time_zone = "Europe/Berlin"
    session.add(model)
    session.commit()
    (row,) = _store(session, world, hourly("demand", np.arange(24 * 200)))
    assert (row.start, row.time_zone) == ("2024-01-01 01:00", "Europe/Berlin")
    preview = _preview(session, world, row.id)
    assert (preview.x[0], preview.first, preview.time_zone) == ("2024-01-01 01:00", "2024-01-01 01:00",
                                                               "Europe/Berlin")
    # The window is given in UTC; summer time shows two hours ahead.
    july = _preview(session, world, row.id, start=datetime(2024, 7, 1), end=datetime(2024, 7, 1, 1))
    assert july.x == ("2024-07-01 02:00", "2024-07-01 03:00")
    model.time_zone = ""
    session.add(model)
    session.commit()
    assert _preview(session, world, row.id).x[0] == "2024-01-01 00:00"


def test_name_clash_refused_and_nothing_stored(session, world):
    _store(session, world, hourly("demand", np.ones(24)))
    message = _refused(session, svc.store_series, user_id=world["alice"], model_id=world["model"],
                       series=[hourly("solar", np.ones(24)), hourly(" Demand ", np.ones(24), column="load")],
                       source_filename="more.csv")
    assert message == ("There is already a timeseries called “demand” in this model (“demand” differs only in "
                       "capital letters) (column “load” of more.csv); choose another name, e.g. “Demand 2”.")
    assert ("Columns “a” and “b” of more.csv both become the timeseries “wind” (“WIND” differs only in capital "
            "letters); give them different names.") == _refused(
        session, svc.store_series, user_id=world["alice"], model_id=world["model"],
        series=[hourly("wind", np.ones(3), column="a"), hourly("WIND ", np.ones(3), column="b")],
        source_filename="more.csv")
    assert "Give the timeseries of column “c” of more.csv a name." == _refused(
        session, svc.store_series, user_id=world["alice"], model_id=world["model"],
        series=[hourly("  ", np.ones(3), column="c")], source_filename="more.csv")
    assert "keep it to 200" in _refused(session, svc.store_series, user_id=world["alice"], model_id=world["model"],
                                        series=[hourly("x" * 201, np.ones(3))], source_filename="more.csv")
    assert "There is no timeseries in more.csv to store." == _refused(
        session, svc.store_series, user_id=world["alice"], model_id=world["model"], series=[],
        source_filename="more.csv")
    assert _names(session, world) == ["demand"]
    assert len(session.exec(select(Timeseries.id)).all()) == 1
    assert session.exec(select(ActivityLog.detail)).all() == ["Uploaded 1 timeseries from demand.csv"]


def test_viewer_refused_and_stranger_sees_nothing(session, world):
    (row,) = _store(session, world, hourly("demand", np.ones(24)))
    for call, kwargs in [(svc.store_series, {"series": [hourly("x", np.ones(3))], "source_filename": "x.csv"}),
                         (svc.rename_series, {"series_id": row.id, "name": "load"}),
                         (svc.delete_series, {"series_id": row.id})]:
        with pytest.raises(PermissionDenied, match="You can view “Island” but not change it"):
            call(session=session, user_id=world["bob"], model_id=world["model"], **kwargs)
        session.rollback()
        with pytest.raises(NotFound):
            call(session=session, user_id=world["carol"], model_id=world["model"], **kwargs)
        session.rollback()
    with pytest.raises(NotFound):
        svc.series_preview(session=session, user_id=world["carol"], model_id=world["model"], series_id=row.id)
    assert _names(session, world) == ["demand"]


def test_delete_refused_while_a_parameter_uses_it(session, world):
    used, spare = _store(session, world, hourly("demand_berlin", np.ones(24)), hourly("spare", np.ones(24)))
    assert used.name == "demand_berlin"
    tech = Technology(model_id=world["model"], name="demand_power", base_tech="demand")
    berlin = Location(model_id=world["model"], name="Berlin")
    session.add_all([tech, berlin])
    session.commit()
    node = Node(model_id=world["model"], location_id=berlin.id, technology_id=tech.id)
    session.add(node)
    session.commit()
    session.add_all([
        TechParameter(technology_id=tech.id, name="sink_use_equals", timeseries_id=used.id),
        NodeParameter(node_id=node.id, name="sink_use_equals", timeseries_id=used.id),
        ModelParameter(model_id=world["model"], name="timestep_weights", timeseries_id=used.id),
    ])
    session.commit()
    rows = {r.name: r for r in svc.list_series(session=session, user_id=world["alice"], model_id=world["model"])}
    assert rows["demand_berlin"].used_by == ("sink_use_equals of demand_power",
                                             "sink_use_equals of demand_power at Berlin",
                                             "timestep_weights (model)")
    assert rows["spare"].used_by == ()
    assert _refused(session, svc.delete_series, user_id=world["alice"], model_id=world["model"],
                    series_id=used.id) == (
        "“demand_berlin” cannot be deleted: used by sink_use_equals of demand_power; sink_use_equals of "
        "demand_power at Berlin; timestep_weights (model); detach it there first.")
    assert svc.delete_series(session=session, user_id=world["alice"], model_id=world["model"],
                             series_id=spare.id) == "spare"
    session.commit()
    assert _names(session, world) == ["demand_berlin"]
    assert "Deleted timeseries “spare”" in session.exec(select(ActivityLog.detail)).all()
    assert "This timeseries is not in this model" in _refused(
        session, svc.delete_series, user_id=world["alice"], model_id=world["model"], series_id=spare.id)


def test_rename_and_rename_clash(session, world):
    demand, wind = _store(session, world, hourly("demand", np.ones(24)), hourly("wind", np.ones(24)))
    assert _refused(session, svc.rename_series, user_id=world["alice"], model_id=world["model"],
                    series_id=wind.id, name="demand") == (
        "There is already a timeseries called “demand” in this model; choose another name, e.g. “demand 2”.")
    assert "Give the timeseries a name." == _refused(session, svc.rename_series, user_id=world["alice"],
                                                      model_id=world["model"], series_id=wind.id, name=" ")
    row = svc.rename_series(session=session, user_id=world["alice"], model_id=world["model"], series_id=wind.id,
                            name=" wind_onshore ")
    session.commit()
    assert (row.id, row.name, row.length) == (wind.id, "wind_onshore", 24)
    assert _names(session, world) == ["demand", "wind_onshore"]
    assert "Renamed timeseries “wind” to “wind_onshore”" in session.exec(select(ActivityLog.detail)).all()
    other = EnergyModel(name="Other", owner_id=world["alice"])
    session.add(other)
    session.commit()
    assert "This timeseries is not in this model" in _refused(
        session, svc.rename_series, user_id=world["alice"], model_id=other.id, series_id=demand.id, name="x")


def test_a_zoomed_window_in_local_time_loads_in_full_detail(session, world):
    """The chart's axis speaks Berlin time; the window it asks for is read in that zone."""
    model = session.get(EnergyModel, world["model"])
    model.time_zone = "Europe/Berlin"
    session.add(model)
    session.commit()
    [row] = _store(session, world, hourly("load", np.arange(8760)))
    stamps = np.arange(8760)
    whole = svc.preview_zoom(session=session, user_id=world["alice"], model_id=world["model"], series_id=row.id)
    assert whole.drawn < whole.total == len(stamps)
    zoomed = svc.preview_zoom(session=session, user_id=world["alice"], model_id=world["model"], series_id=row.id,
                              start_text="2024-06-01 00:00:00", end_text="2024-06-02 00:00:00.5")
    assert zoomed.total == zoomed.drawn == 25  # every hour of that day, 00:00 to 00:00 local
    assert zoomed.x[0] == "2024-06-01 00:00" and zoomed.x[-1] == "2024-06-02 00:00"
    junk = svc.preview_zoom(session=session, user_id=world["alice"], model_id=world["model"], series_id=row.id,
                            start_text="not a date", end_text="")
    assert junk.total == len(stamps)
