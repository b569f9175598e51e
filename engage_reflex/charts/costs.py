"""Costs (or emissions, any cost class) by technology and location."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engage_reflex.charts._style import base_layout, empty_figure, tech_table


def costs_figure(costs: pd.DataFrame, techs: pd.DataFrame, *, cost_class: str, unit: str = "",
                 title: str = "") -> go.Figure:
    """`costs`: node, tech, cost_class, value (costs.csv). Bars are locations, one stacked trace per
    technology in its colour; techs of one display name (e.g. the lines of one kind) are one trace.
    Negative values (revenues, negative emissions) stack below zero."""
    title = title or f"{cost_class} by technology and location"
    data = costs[(costs["cost_class"] == cost_class) & (costs["value"].abs() > 1e-9)]
    if data.empty:
        return empty_figure(f"Nothing was counted in {cost_class} in this run.", title=title)
    table = tech_table(techs, data["tech"].unique())
    data = data.assign(name=data["tech"].map(table["name"]))
    totals = data.groupby(["name", "node"], sort=False)["value"].sum()
    nodes = sorted(data["node"].unique())
    fig = go.Figure()
    for name, info in table.drop_duplicates("name").set_index("name").iterrows():
        if name not in totals.index.get_level_values("name"):
            continue
        values = totals.loc[name].reindex(nodes, fill_value=0.0)
        fig.add_trace(go.Bar(
            x=nodes, y=values.to_list(), name=name, marker_color=info["color"],
            hovertemplate=f"<b>{name}</b><br>%{{x}}: %{{y:,.4~g}} {unit}<extra></extra>",
        ))
    base_layout(fig, title=title, y_title=f"{cost_class} ({unit})" if unit else cost_class, x_title="Location")
    fig.update_layout(barmode="relative", bargap=0.3)
    fig.update_yaxes(rangemode="normal")
    return fig
