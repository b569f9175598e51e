"""The coverage timeline: a bar per series over its data, the run period as a band, covered vs not in colour."""

from __future__ import annotations

import pandas as pd

from engage_reflex.charts.coverage import COVERED_COLOR, NOT_COVERED_COLOR, coverage_timeline
from engage_reflex.schemas.coverage import CoverageView, SeriesCoverage


def _series(name: str, first: str, until: str, covers: bool) -> SeriesCoverage:
    return SeriesCoverage(series_id=len(name), name=name, first=f"{first} 00:00", last=f"{until} 23:00",
                          data_until=f"{until} 00:00", first_day=first, last_day=until,
                          used_by=(f"demand at {name}: sink_use_equals",), covers=covers,
                          message="" if covers else f"“{name}” is short")


def _view(*series: SeriesCoverage) -> CoverageView:
    return CoverageView(model_id=1, scenario_id=1, scenario_name="base", time_zone="UTC", model_time_zone="UTC",
                        period_start="2005-03-01", period_end="2005-07-15", period_source="chosen",
                        series=series, messages=tuple(s.message for s in series if not s.covers))


def _bars(fig) -> dict[str, tuple[str, str, float]]:
    """{series name: (colour, bar start, bar length in days)}."""
    out = {}
    for trace in fig.data:
        for name, base, length in zip(trace.y, trace.base, trace.x, strict=True):
            out[name] = (trace.marker.color, base, length / 86_400_000)
    return out


def test_a_bar_per_series_over_its_data_coloured_by_whether_it_covers_the_period():
    fig = coverage_timeline(_view(_series("south", "2005-01-01", "2005-07-01", False),
                                  _series("north", "2005-01-01", "2006-01-01", True),
                                  _series("wind", "2005-02-01", "2006-01-01", True)))
    bars = _bars(fig)
    assert set(bars) == {"south", "north", "wind"}
    assert bars["south"] == (NOT_COVERED_COLOR, "2005-01-01 00:00", 181)
    assert bars["north"][0] == bars["wind"][0] == COVERED_COLOR != NOT_COVERED_COLOR
    assert bars["wind"][1:] == ("2005-02-01 00:00", 334)
    assert list(fig.layout.yaxis.categoryarray) == ["south", "north", "wind"]  # the view's order, top down
    assert {t.name for t in fig.data} == {"Covers the run period", "Does not cover it"}


def test_the_run_period_is_a_band_over_its_days_labelled_with_its_dates():
    fig = coverage_timeline(_view(_series("north", "2005-01-01", "2006-01-01", True)))
    [band] = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (band.x0, band.x1) == ("2005-03-01", "2005-07-16")  # the end day is included
    assert any("Run period 2005-03-01 – 2005-07-15 (UTC)" in a.text for a in fig.layout.annotations)
    assert not fig.layout.title.text  # compact: the page's section says what it is


def test_the_height_grows_with_the_number_of_series_and_a_frame_works_too():
    one = coverage_timeline(_view(_series("a", "2005-01-01", "2005-02-01", True)))
    many = coverage_timeline(_view(*[_series(f"s{i}", "2005-01-01", "2005-02-01", True) for i in range(12)]))
    assert one.layout.height < many.layout.height <= 90 + 30 * 12

    frame = pd.DataFrame({"name": ["x"], "start": ["2005-01-01 00:00"], "end": ["2005-01-03 00:00"],
                          "covers": [False], "used_by": ["link a: flow_cap_max"]})
    fig = coverage_timeline(frame, period=("2005-01-02", "2005-01-05"))
    assert _bars(fig) == {"x": (NOT_COVERED_COLOR, "2005-01-01 00:00", 2)}
    assert [s.x0 for s in fig.layout.shapes] == ["2005-01-02"]


def test_a_scenario_without_series_says_so():
    fig = coverage_timeline(_view())
    assert fig.data == () and "uses no timeseries" in fig.layout.annotations[0].text
