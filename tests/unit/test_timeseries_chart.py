"""The timeseries figure: one line of the preview's points, axes named in planner words, zoom kept."""

from __future__ import annotations

import dataclasses

from engage_reflex.charts.timeseries import series_figure
from engage_reflex.schemas.timeseries import SeriesPreview

PREVIEW = SeriesPreview(
    series_id=7, name="demand", unit="kW", time_zone="Europe/Berlin",
    x=("2024-01-01 01:00", "2024-01-01 02:00", "2024-01-01 03:00"), y=(5.0, 12.5, -1.0),
    drawn=3, total=3, first="2024-01-01 01:00", last="2024-01-01 03:00", gaps=(),
    minimum=-1.0, maximum=12.5, mean=5.5, total_sum=16.5, step_minutes=60,
)


def test_one_line_of_the_preview_points():
    fig = series_figure(PREVIEW)
    (trace,) = fig.data
    assert (trace.type, trace.mode) == ("scatter", "lines")
    assert list(trace.x) == list(PREVIEW.x) and list(trace.y) == [5.0, 12.5, -1.0]
    assert "kW" in trace.hovertemplate
    assert fig.layout.xaxis.type == "date"  # labels read as times, not as categories
    assert fig.layout.yaxis.rangemode == "normal"  # a temperature series is not squashed against zero
    assert not fig.layout.title.text and fig.layout.showlegend is False


def test_axes_name_the_unit_and_the_models_time_zone():
    fig = series_figure(PREVIEW)
    assert fig.layout.yaxis.title.text == "kW"
    assert fig.layout.xaxis.title.text == "Time (Europe/Berlin)"
    no_unit = series_figure(dataclasses.replace(PREVIEW, unit="", time_zone="UTC"))
    assert no_unit.layout.yaxis.title.text == "value"
    assert no_unit.layout.xaxis.title.text == "Time (UTC)"


def test_zoom_survives_new_points_of_the_same_series_only():
    zoomed_in = dataclasses.replace(PREVIEW, x=PREVIEW.x[:2], y=PREVIEW.y[:2], drawn=2, total=2)
    assert series_figure(PREVIEW).layout.uirevision == series_figure(zoomed_in).layout.uirevision
    other = dataclasses.replace(PREVIEW, series_id=8, name="wind")
    assert series_figure(PREVIEW).layout.uirevision != series_figure(other).layout.uirevision


def test_an_empty_window_says_so():
    empty = dataclasses.replace(PREVIEW, x=(), y=(), drawn=0, total=0, first="", last="", minimum=None,
                                maximum=None, mean=None, total_sum=0.0)
    fig = series_figure(empty)
    assert not fig.data
    assert fig.layout.annotations[0].text == "“demand” has no values in this period."
