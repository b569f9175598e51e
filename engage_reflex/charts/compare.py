"""Two runs side by side: per technology, one bar for each run in the technology's colour (the second
run's bar hatched), for capacity and for each cost class."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engage_reflex.charts._style import base_layout, empty_figure, tech_table

# Demand is not built capacity; a line's capacity is counted at both its ends.
HIDDEN_BASE_TECHS = ("demand", "transmission")
SECOND_PATTERN = "/"
NOISE = 1e-9


def _per_tech(first: pd.DataFrame, second: pd.DataFrame, techs: pd.DataFrame,
              hidden: tuple[str, ...]) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The shown techs (tech_table rows, in order) and each run's total per tech."""
    used = pd.concat([first["tech"], second["tech"]]).unique()
    table = tech_table(techs, used)
    table = table[~table["base_tech"].isin(hidden)]
    totals = [frame[frame["tech"].isin(table.index)].groupby("tech")["value"].sum().reindex(table.index,
                                                                                           fill_value=0.0)
              for frame in (first, second)]
    either = (totals[0].abs() > NOISE) | (totals[1].abs() > NOISE)
    return table[either], totals[0][either], totals[1][either]


def _pair(fig: go.Figure, table: pd.DataFrame, first: pd.Series, second: pd.Series, labels: tuple[str, str],
          unit: str, *, row: int | None = None, col: int | None = None, legend: bool = True) -> None:
    names = table["name"].to_list()
    colors = table["color"].to_list()
    for values, label, pattern in ((first, labels[0], ""), (second, labels[1], SECOND_PATTERN)):
        fig.add_trace(go.Bar(
            x=names, y=values.to_list(), name=label, legendgroup=label, showlegend=legend,
            marker={"color": colors, "pattern": {"shape": pattern, "fgcolor": "#FFFFFF", "solidity": 0.35},
                    "line": {"color": "#555", "width": 0.5}},
            hovertemplate=f"<b>%{{x}}</b><br>{label}: %{{y:,.4~g}} {unit}<extra></extra>",
        ), row=row, col=col)


def capacity_comparison_figure(first: pd.DataFrame, second: pd.DataFrame, techs: pd.DataFrame, *,
                               labels: tuple[str, str] = ("First run", "Second run"), variable: str = "flow_cap",
                               unit: str = "", title: str = "Installed capacity by technology") -> go.Figure:
    """`first`, `second`: capacity.csv of each run (node, tech, carrier, variable, value), summed over
    locations and carriers per technology; `techs`: techs.csv (names, colours, base techs)."""
    data = [frame[frame["variable"] == variable] for frame in (first, second)]
    table, a, b = _per_tech(data[0], data[1], techs, HIDDEN_BASE_TECHS)
    if table.empty:
        return empty_figure("Neither run built any capacity.", title=title)
    fig = go.Figure()
    _pair(fig, table, a, b, labels, unit)
    base_layout(fig, title=title, y_title=f"Capacity ({unit})" if unit else "Capacity")
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    return fig


def cost_comparison_figure(first: pd.DataFrame, second: pd.DataFrame, techs: pd.DataFrame, *,
                           labels: tuple[str, str] = ("First run", "Second run"),
                           title: str = "Costs by technology") -> go.Figure:
    """`first`, `second`: costs.csv of each run (node, tech, cost_class, value); one panel per cost
    class (monetary first, then e.g. co2), each tech summed over locations."""
    classes = sorted(set(first["cost_class"]) | set(second["cost_class"]), key=lambda c: (c != "monetary", c))
    panels = []
    for cost_class in classes:
        parts = [frame[frame["cost_class"] == cost_class] for frame in (first, second)]
        table, a, b = _per_tech(parts[0], parts[1], techs, ())
        if not table.empty:
            panels.append((cost_class, table, a, b))
    if not panels:
        return empty_figure("Neither run has any costs.", title=title)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels],
                        horizontal_spacing=0.08)
    for i, (cost_class, table, a, b) in enumerate(panels, start=1):
        _pair(fig, table, a, b, labels, cost_class, row=1, col=i, legend=i == 1)
    base_layout(fig, title=title, y_title="")
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    fig.update_yaxes(rangemode="tozero", gridcolor="#E8E8EC", separatethousands=True)
    return fig
