"""Installed capacity: one bar trace per technology, one bar (or group) per node."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engage_reflex.charts._style import base_layout, empty_figure, tech_table

# Demand is not built capacity, and transmission lines are not placed at one node.
HIDDEN_BASE_TECHS = ("demand", "transmission")


def capacity_figure(
    capacity: pd.DataFrame,
    techs: pd.DataFrame,
    *,
    variable: str = "flow_cap",
    carrier: str | None = None,
    unit: str = "kW",
    stacked: bool = True,
    title: str = "Installed capacity",
) -> go.Figure:
    """`capacity`: node, tech, carrier, variable, value (capacity.csv).
    `techs`: tech, name, color, base_tech (techs.csv).

    Bars are nodes; each technology is one trace in its own colour, stacked (the node's mix)
    or side by side. Values of several carriers of one tech are summed unless `carrier` picks one.
    """
    data = capacity[capacity["variable"] == variable]
    if carrier is not None:
        data = data[data["carrier"] == carrier]
    table = tech_table(techs, data["tech"].unique())
    shown = table[~table["base_tech"].isin(HIDDEN_BASE_TECHS)]
    data = data[data["tech"].isin(shown.index)]
    totals = data.groupby(["tech", "node"], sort=False)["value"].sum()
    totals = totals[totals.abs() > 1e-9]
    if totals.empty:
        where = f" for {carrier}" if carrier else ""
        return empty_figure(f"This run built no capacity{where}.", title=title)
    nodes = sorted(totals.index.get_level_values("node").unique())
    fig = go.Figure()
    for tech, info in shown.iterrows():
        if tech not in totals.index.get_level_values("tech"):
            continue
        values = totals.loc[tech].reindex(nodes, fill_value=0.0)
        fig.add_trace(go.Bar(
            x=nodes, y=values.to_list(), name=info["name"], marker_color=info["color"],
            hovertemplate=f"<b>{info['name']}</b><br>%{{x}}: %{{y:,.4~g}} {unit}<extra></extra>",
        ))
    base_layout(fig, title=title, y_title=f"Capacity ({unit})", x_title="Node")
    fig.update_layout(barmode="stack" if stacked else "group", bargap=0.3, legend_traceorder="normal")
    return fig
