"""Storage level over time: one line per storage technology (Calliope's `storage` variable)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engage_reflex.charts._style import base_layout, empty_figure, tech_table


def storage_figure(levels: pd.DataFrame, techs: pd.DataFrame, *, unit: str = "kWh", title: str = "Storage level"
                   ) -> go.Figure:
    """`levels`: timestep, tech, value (already summed over the nodes shown). One filled line per
    tech in its colour, not stacked: each line is how full that technology's stores are."""
    # An empty store is a level too (0): only techs that never stored anything are left out.
    used = levels.groupby("tech")["value"].max() if not levels.empty else pd.Series(dtype=float)
    levels = levels[levels["tech"].isin(used[used > 1e-9].index)]
    if levels.empty:
        return empty_figure("No storage was used in this period.", title=title)
    wide = levels.pivot_table(index="timestep", columns="tech", values="value", aggfunc="sum",
                              fill_value=0.0).sort_index()
    timesteps = pd.to_datetime(wide.index)
    fig = go.Figure()
    for tech, info in tech_table(techs, wide.columns).iterrows():
        fig.add_trace(go.Scatter(
            x=timesteps, y=wide[tech].to_list(), name=info["name"], mode="lines", fill="tozeroy",
            line={"width": 1.5, "color": info["color"]},
            hovertemplate=f"{info['name']}: %{{y:,.4~g}} {unit}<extra></extra>",
        ))
    base_layout(fig, title=title, y_title=f"Stored ({unit})")
    fig.update_layout(hovermode="x unified")
    return fig
