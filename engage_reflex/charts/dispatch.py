"""Dispatch: what each technology produced (stacked areas above zero) and consumed (below)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engage_reflex.charts._style import base_layout, empty_figure, tech_table


def dispatch_figure(
    flows: pd.DataFrame,
    techs: pd.DataFrame,
    *,
    carrier: str,
    unit: str = "kW",
    title: str = "",
    demand_as_line: bool = False,
) -> go.Figure:
    """`flows`: timestep, tech, direction ("out" | "in"), value >= 0, already for one carrier and
    summed over the nodes shown. `techs`: tech, name, color, base_tech (techs.csv).

    Each technology's output is one stacked area above zero; what a technology takes in
    (demand, charging storage, exports) is one stacked area below zero, in the same colour.
    With `demand_as_line`, what demand techs take in is one dark line over the produced areas
    instead (produced areas reach it when supply meets demand).
    """
    title = title or f"Dispatch of {carrier}"
    flows = flows[flows["value"].abs() > 1e-9]
    if flows.empty:
        return empty_figure(f"Nothing produced or consumed {carrier} in this run.", title=title)
    wide = flows.pivot_table(index="timestep", columns=["direction", "tech"], values="value",
                             aggfunc="sum", fill_value=0.0).sort_index()
    timesteps = pd.to_datetime(wide.index)
    table = tech_table(techs, flows["tech"].unique())
    demands = set(table.index[table["base_tech"] == "demand"]) if demand_as_line else set()
    fig = go.Figure()
    for direction, sign, group in (("out", 1.0, "produced"), ("in", -1.0, "consumed")):
        for tech, info in table.iterrows():
            if (direction, tech) not in wide.columns or (direction == "in" and tech in demands):
                continue
            values = wide[(direction, tech)]
            # One legend entry per technology, even when it both produces and consumes.
            first = direction == "out" or ("out", tech) not in wide.columns
            fig.add_trace(go.Scatter(
                x=timesteps, y=(sign * values).to_list(), name=info["name"], legendgroup=tech,
                showlegend=first, stackgroup=group, mode="lines",
                line={"width": 0.5, "color": info["color"]}, fillcolor=info["color"],
                customdata=values.to_list(),
                hovertemplate=f"{info['name']} ({group}): %{{customdata:,.4~g}} {unit}<extra></extra>",
            ))
    _demand_line(fig, wide, timesteps, demands, table, unit)
    base_layout(fig, title=title, y_title=f"{carrier} ({unit})")
    fig.update_layout(hovermode="x unified")
    fig.update_yaxes(rangemode="normal")
    return fig


def _demand_line(fig: go.Figure, wide: pd.DataFrame, timesteps, demands: set[str], table: pd.DataFrame,
                 unit: str) -> None:
    """All demand techs' intake summed into one line (drawn last, so it lies on top of the areas)."""
    columns = [("in", tech) for tech in demands if ("in", tech) in wide.columns]
    if not columns:
        return
    values = wide[columns].sum(axis=1)
    name = table.loc[columns[0][1], "name"] if len(columns) == 1 else "Demand"
    fig.add_trace(go.Scatter(
        x=timesteps, y=values.to_list(), name=name, mode="lines", legendgroup="demand",
        line={"width": 2, "color": "#1C2024", "dash": "dot"},
        hovertemplate=f"{name}: %{{y:,.4~g}} {unit}<extra></extra>",
    ))
