"""Calliope's post-processed results: levelised cost per technology and capacity factors."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engage_reflex.charts._style import base_layout, empty_figure, tech_table

# Demand is not generation; a line's "capacity factor" counts one direction only.
_NOT_GENERATION = ("demand", "transmission")


def _bars(values: pd.Series, techs: pd.DataFrame, *, fmt: str, unit: str) -> go.Figure:
    """One horizontal bar per tech (index = tech id), in its colour."""
    table = tech_table(techs, values.index)
    table = table[~table["base_tech"].isin(_NOT_GENERATION)]
    values = values.reindex(table.index)
    return go.Figure(go.Bar(
        y=table["name"].to_list(), x=values.to_list(), orientation="h", marker_color=table["color"].to_list(),
        hovertemplate=f"<b>%{{y}}</b>: %{{x:{fmt}}} {unit}<extra></extra>", showlegend=False,
    ))


def levelised_cost_figure(levelised: pd.DataFrame, techs: pd.DataFrame, *, carrier: str, cost_class: str,
                          unit: str = "", title: str = "") -> go.Figure:
    """`levelised`: tech, carrier, cost_class, value (levelised_costs.csv; tech "" = the carrier's
    total over all techs, drawn as a dashed line)."""
    title = title or f"Levelised {cost_class} cost of {carrier}"
    data = levelised[(levelised["carrier"] == carrier) & (levelised["cost_class"] == cost_class)]
    per_tech = data[(data["tech"] != "") & (data["value"].abs() > 1e-12)].set_index("tech")["value"]
    if per_tech.empty:
        return empty_figure(f"No levelised {cost_class} cost of {carrier}: nothing that costs generated it.",
                            title=title)
    fig = _bars(per_tech, techs, fmt=",.4~g", unit=unit)
    total = data.loc[data["tech"] == "", "value"]
    if not total.empty:
        fig.add_vline(x=float(total.iloc[0]), line={"dash": "dash", "color": "#1C2024", "width": 1.5},
                      annotation_text=f"All technologies: {float(total.iloc[0]):,.4g}", annotation_position="top")
    base_layout(fig, title=title, y_title="", x_title=unit or cost_class)
    fig.update_layout(height=max(240, 90 + 34 * len(fig.data[0].y)), margin={"l": 10, "t": 60})
    fig.update_yaxes(automargin=True, autorange="reversed")
    return fig


def capacity_factor_figure(factors: pd.DataFrame, techs: pd.DataFrame, *, carrier: str, node: str = "",
                           title: str = "") -> go.Figure:
    """`factors`: node, tech, carrier, value (capacity_factors.csv; node "" = systemwide). Share of the
    time each tech ran at full capacity, on average over the run, at `node` or systemwide."""
    where = node or "all locations"
    title = title or f"Capacity factors for {carrier}, {where}"
    data = factors[(factors["carrier"] == carrier) & (factors["node"] == node)]
    data = data[data["value"] > 1e-9].groupby("tech")["value"].max()
    if data.empty:
        return empty_figure(f"Nothing generated {carrier} at {where}.", title=title)
    fig = _bars(data * 100.0, techs, fmt=".1f", unit="%")
    base_layout(fig, title=title, y_title="", x_title="Capacity factor (%)")
    fig.update_layout(height=max(240, 90 + 34 * len(fig.data[0].y)), margin={"l": 10, "t": 60})
    fig.update_xaxes(range=[0, 100])
    fig.update_yaxes(automargin=True, autorange="reversed")
    return fig
