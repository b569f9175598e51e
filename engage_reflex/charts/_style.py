"""What every chart shares: tech order, labels, colours and a quiet layout."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

FALLBACK_COLOR = "#9E9E9E"
FONT = "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
_BASE_TECH_ORDER = {"supply": 0, "conversion": 1, "storage": 2, "transmission": 3, "demand": 4}


def tech_table(techs: pd.DataFrame, used: list[str] | pd.Index) -> pd.DataFrame:
    """One row per used tech (index = tech id) with `name`, `color`, `base_tech`, in a stable order:
    supply, conversion, storage, transmission, demand, then by name. Unknown techs get their id as
    name and a grey colour, so a chart never fails over a missing techs.csv row."""
    known = {str(r["tech"]): r for r in techs.to_dict("records")} if "tech" in techs.columns else {}
    rows = []
    for tech in dict.fromkeys(str(t) for t in used):
        info = known.get(tech, {})
        rows.append({
            "tech": tech,
            "name": _text(info.get("name")) or tech,
            "color": _text(info.get("color")) or FALLBACK_COLOR,
            "base_tech": _text(info.get("base_tech")),
        })
    table = pd.DataFrame(rows, columns=["tech", "name", "color", "base_tech"])
    if table.empty:
        return table.set_index("tech")
    table["_order"] = table["base_tech"].map(_BASE_TECH_ORDER).fillna(9)
    table["_lower"] = table["name"].str.lower()
    return table.sort_values(["_order", "_lower", "tech"]).drop(columns=["_order", "_lower"]).set_index("tech")


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def base_layout(fig: go.Figure, *, title: str, y_title: str, x_title: str = "") -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        font={"family": FONT, "size": 13},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "xanchor": "left", "x": 0,
                "title": {"text": ""}},
        yaxis={"title": {"text": y_title}, "rangemode": "tozero", "zerolinecolor": "#8B8D98",
               "gridcolor": "#E8E8EC", "separatethousands": True},
        xaxis={"title": {"text": x_title}, "gridcolor": "#E8E8EC", "linecolor": "#CDCED6"},
        height=440,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#FFFFFF",
    )
    return fig


def empty_figure(message: str, *, title: str = "") -> go.Figure:
    """A blank chart that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": "#666"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title={"text": title, "x": 0, "xanchor": "left"}, font={"family": FONT},
                      height=320, paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    return fig
