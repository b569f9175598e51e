"""The results map: what was built at each location (sized pies) and the links between them.

Drawn on plain longitude/latitude axes, no map tiles: it needs no network and no API key.
Each location's pie is placed by its `domain` (the plot area's fractions), which is why the
axis ranges are fixed here and not left to autorange.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from engage_reflex.charts._style import FONT, empty_figure, tech_table

HIDDEN_BASE_TECHS = ("demand", "transmission")
LINE_COLOR = "#5B5BD6"
MAX_PIE = 0.09  # radius of the biggest location's pie, as a fraction of the plot area
MIN_PIE = 0.025


def _ranges(nodes: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float]]:
    lon, lat = nodes["longitude"], nodes["latitude"]
    pad_x = max(0.5, 0.18 * (lon.max() - lon.min()))
    pad_y = max(0.5, 0.18 * (lat.max() - lat.min()))
    return (lon.min() - pad_x, lon.max() + pad_x), (lat.min() - pad_y, lat.max() + pad_y)


def results_map_figure(nodes: pd.DataFrame, capacity: pd.DataFrame, links: pd.DataFrame, techs: pd.DataFrame, *,
                       carrier: str, unit: str = "kW", title: str = "") -> go.Figure:
    """`nodes`: node, latitude, longitude; `capacity`: capacity.csv rows; `links`: links.csv rows.
    Pies: the `carrier` capacity (flow_cap) built at each location by tech, area ∝ the total.
    Lines: links carrying `carrier`, width ∝ capacity, an arrow in the direction of the net flow."""
    title = title or f"Map of {carrier} capacity and links"
    nodes = nodes.dropna(subset=["latitude", "longitude"])
    if nodes.empty:
        return empty_figure("The locations of this run have no coordinates, so there is no map.", title=title)
    (x0, x1), (y0, y1) = _ranges(nodes)
    where = nodes.set_index("node")[["longitude", "latitude"]]
    fig = go.Figure()
    _links(fig, links[links["carrier"] == carrier], where, unit)
    data = capacity[(capacity["variable"] == "flow_cap") & (capacity["carrier"] == carrier)]
    table = tech_table(techs, data["tech"].unique())
    table = table[~table["base_tech"].isin(HIDDEN_BASE_TECHS)]
    built = data[data["tech"].isin(table.index) & (data["value"] > 1e-9)].groupby(["node", "tech"])["value"].sum()
    totals = built.groupby(level="node").sum()
    biggest = float(totals.max()) if not totals.empty else 0.0
    for node, total in totals.items():
        if node not in where.index:
            continue
        lon, lat = where.loc[node]
        cx, cy = (lon - x0) / (x1 - x0), (lat - y0) / (y1 - y0)
        r = MIN_PIE + (MAX_PIE - MIN_PIE) * math.sqrt(total / biggest)
        mix = built.loc[node].reindex([t for t in table.index if t in built.loc[node].index])
        fig.add_trace(go.Pie(
            labels=table.loc[mix.index, "name"].to_list(), values=mix.to_list(),
            marker={"colors": table.loc[mix.index, "color"].to_list(), "line": {"color": "#FFFFFF", "width": 1}},
            domain={"x": [max(cx - r, 0), min(cx + r, 1)], "y": [max(cy - r, 0), min(cy + r, 1)]},
            textinfo="none", sort=False, name=str(node),
            hovertemplate=f"<b>{node}</b><br>%{{label}}: %{{value:,.4~g}} {unit} (%{{percent}})<extra></extra>",
        ))
    fig.add_trace(go.Scatter(
        x=where["longitude"].to_list(), y=where["latitude"].to_list(), mode="markers+text",
        text=where.index.to_list(), textposition="bottom center", showlegend=False, name="Locations",
        marker={"size": 6, "color": "#1C2024"},
        customdata=[f"{totals.get(n, 0.0):,.4g}" for n in where.index],
        hovertemplate=f"<b>%{{text}}</b><br>{carrier} capacity: %{{customdata}} {unit}<extra></extra>",
    ))
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}}, font={"family": FONT, "size": 12},
        height=520, margin={"l": 50, "r": 20, "t": 50, "b": 40}, paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#F4F7FB", hovermode="closest",
        legend={"orientation": "h", "yanchor": "top", "y": -0.1, "xanchor": "left", "x": 0},
        xaxis={"range": [x0, x1], "title": {"text": "Longitude (°)"}, "gridcolor": "#E0E4EA", "zeroline": False},
        yaxis={"range": [y0, y1], "title": {"text": "Latitude (°)"}, "gridcolor": "#E0E4EA", "zeroline": False},
    )
    return fig


def _links(fig: go.Figure, links: pd.DataFrame, where: pd.DataFrame, unit: str) -> None:
    """One line per link (width by capacity), a hover point at its middle and an arrow of its net flow."""
    links = links[links["from_node"].isin(where.index) & links["to_node"].isin(where.index)]
    if links.empty:
        return
    biggest = max(float(links["capacity"].max()), 1e-9)
    mids_x, mids_y, labels = [], [], []
    for row in links.itertuples():
        (ax, ay), (bx, by) = where.loc[row.from_node].to_list(), where.loc[row.to_node].to_list()
        fig.add_trace(go.Scatter(x=[ax, bx], y=[ay, by], mode="lines", hoverinfo="skip", showlegend=False,
                                 line={"color": LINE_COLOR, "width": 1.5 + 8 * row.capacity / biggest}, opacity=0.6))
        net = row.sent - row.returned
        source, target = (row.from_node, row.to_node) if net >= 0 else (row.to_node, row.from_node)
        mids_x.append((ax + bx) / 2)
        mids_y.append((ay + by) / 2)
        labels.append(f"<b>{row.name}</b> {row.from_node} – {row.to_node}<br>capacity {row.capacity:,.4g} {unit}"
                      f"<br>net flow {source} → {target}: {abs(net):,.4g} {unit}h")
        if abs(net) > 1e-9:
            (sx, sy), (tx, ty) = where.loc[source].to_list(), where.loc[target].to_list()
            fig.add_annotation(x=sx + 0.6 * (tx - sx), y=sy + 0.6 * (ty - sy), ax=sx + 0.4 * (tx - sx),
                               ay=sy + 0.4 * (ty - sy), xref="x", yref="y", axref="x", ayref="y", text="",
                               showarrow=True, arrowhead=3, arrowsize=1.2, arrowwidth=2, arrowcolor="#1C2024")
    fig.add_trace(go.Scatter(x=mids_x, y=mids_y, mode="markers", name="Links", showlegend=False,
                             marker={"size": 9, "color": LINE_COLOR, "symbol": "diamond"}, text=labels,
                             hovertemplate="%{text}<extra></extra>"))
