"""The timeseries a run uses as bars over their spans, and the run period as a shaded band."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engage_reflex.charts._style import FONT, empty_figure
from engage_reflex.schemas.coverage import CoverageView

COVERED_COLOR = "#3a9d6e"
NOT_COVERED_COLOR = "#d6455d"
PERIOD_COLOR = "#3e63dd"
ROW_PX = 30  # height per series: the chart grows with the number of series
FRAME_PX = 90  # axis, legend and margins
COLUMNS = ["name", "start", "end", "covers", "used_by"]


def coverage_frame(view: CoverageView) -> pd.DataFrame:
    """One row per series: name, start and end of its data (local "YYYY-MM-DD HH:MM"), covers, used_by;
    the run period (first and last day) and the zone in `attrs`."""
    frame = pd.DataFrame(
        [(s.name, s.first, s.data_until, s.covers, "; ".join(s.used_by)) for s in view.series], columns=COLUMNS)
    frame.attrs.update(period=(view.period_start, view.period_end), time_zone=view.time_zone)
    return frame


def coverage_timeline(data: CoverageView | pd.DataFrame, *, period: tuple[str, str] | None = None,
                      time_zone: str | None = None) -> go.Figure:
    """A horizontal bar per series over its data (green-ish if it covers the run period, red-ish if not)
    and the run period (days, both included) as a band labelled with its dates. `period` and
    `time_zone` default to those of the view (or the frame's attrs)."""
    frame = coverage_frame(data) if isinstance(data, CoverageView) else data
    period = period or frame.attrs.get("period") or ("", "")
    zone = time_zone or frame.attrs.get("time_zone") or "UTC"
    if frame.empty:
        fig = empty_figure("This scenario uses no timeseries.")
        fig.update_layout(height=FRAME_PX + ROW_PX, margin={"l": 10, "r": 10, "t": 10, "b": 10})
        return fig
    fig = go.Figure()
    for covers, color, label in ((True, COVERED_COLOR, "Covers the run period"),
                                 (False, NOT_COVERED_COLOR, "Does not cover it")):
        rows = frame[(frame["covers"] == covers) & (frame["start"] != "")]
        if rows.empty:
            continue
        starts, ends = pd.to_datetime(rows["start"]), pd.to_datetime(rows["end"])
        fig.add_trace(go.Bar(
            orientation="h", y=rows["name"].tolist(), base=rows["start"].tolist(),
            x=((ends - starts).dt.total_seconds() * 1000).tolist(),  # a date axis measures bars in ms
            marker={"color": color}, name=label, width=0.6,
            customdata=list(zip(rows["start"], rows["end"], rows.get("used_by", [""] * len(rows)), strict=True)),
            hovertemplate="<b>%{y}</b><br>%{customdata[0]} to %{customdata[1]}<br>%{customdata[2]}<extra></extra>",
        ))
    _period_band(fig, period, zone)
    names = frame["name"].tolist()
    fig.update_layout(
        font={"family": FONT, "size": 12}, height=FRAME_PX + ROW_PX * len(names), barmode="overlay",
        margin={"l": 10, "r": 10, "t": 30, "b": 30}, paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="#FFFFFF",
        # One row above the plot: the band's dates on the left, the legend on the right.
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1, "font": {"size": 11}},
        showlegend=True,
    )
    fig.update_xaxes(type="date", gridcolor="#E8E8EC", linecolor="#CDCED6")
    # First series at the top, every name shown even when it has no data to draw.
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=names, autorange="reversed",
                     automargin=True, title={"text": ""})
    return fig


def _period_band(fig: go.Figure, period: tuple[str, str], zone: str) -> None:
    first, last = period
    if not first or not last:
        return
    until = (pd.Timestamp(last) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")  # the last day is included
    fig.add_vrect(x0=first, x1=until, fillcolor=PERIOD_COLOR, opacity=0.14, layer="below",
                  line={"color": PERIOD_COLOR, "width": 1, "dash": "dot"})
    # Above the plot, not inside the band: a label there would sit on the first bar.
    fig.add_annotation(text=f"▮ Run period {first} – {last} ({zone})", x=0, y=1, xref="paper", yref="paper",
                       xanchor="left", yanchor="bottom", showarrow=False,
                       font={"size": 11, "color": PERIOD_COLOR})
