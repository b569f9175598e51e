"""One stored timeseries as a line, in the model's time zone."""

from __future__ import annotations

import plotly.graph_objects as go

from engage_reflex.charts._style import base_layout, empty_figure
from engage_reflex.schemas.timeseries import SeriesPreview

LINE_COLOR = "#2563eb"


def series_figure(preview: SeriesPreview) -> go.Figure:
    """A line of the preview's points; zoom survives new data for the same series (uirevision)."""
    if not preview.x:
        return empty_figure(f"“{preview.name}” has no values in this period.")
    unit = preview.unit or "value"
    fig = go.Figure(go.Scatter(
        x=list(preview.x), y=list(preview.y), mode="lines", name=preview.name,
        line={"width": 1.2, "color": LINE_COLOR},
        hovertemplate=f"%{{x}}<br>%{{y:,.4~g}} {preview.unit}<extra></extra>",
    ))
    base_layout(fig, title="", y_title=unit, x_title=f"Time ({preview.time_zone})")
    fig.update_layout(
        showlegend=False, margin={"t": 20}, hovermode="x",
        # Same value for the same series: a zoomed-in reload keeps the zoom; another series resets it.
        uirevision=f"series-{preview.series_id}",
    )
    # Labels are wall-clock times: read them as dates, not categories. Values need not start at 0.
    fig.update_xaxes(type="date")
    fig.update_yaxes(rangemode="normal")
    return fig
