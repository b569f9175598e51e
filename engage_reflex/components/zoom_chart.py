"""A plotly chart that tells the server which time window the planner zoomed to.

Reflex's plotly wrapper passes nothing with `on_relayout`; this subclass passes the x-axis
range plotly reports (`"xaxis.range[0]"`/`[1]`, or "auto" when the planner double-clicks back
out), so the server can send that window in full detail.
"""

from __future__ import annotations

from reflex_base.components.component import field
from reflex_base.event import EventHandler
from reflex_base.vars.base import Var
from reflex_components_plotly.plotly import Plotly


def _x_range(e0: Var) -> tuple[Var[str], Var[str]]:
    start = f'String(({e0} ?? {{}})["xaxis.range[0]"] ?? (({e0} ?? {{}})["xaxis.autorange"] ? "auto" : ""))'
    end = f'String(({e0} ?? {{}})["xaxis.range[1]"] ?? "")'
    return Var(_js_expr=start).to(str), Var(_js_expr=end).to(str)


class ZoomPlotly(Plotly):
    on_relayout: EventHandler[_x_range] = field(doc="After a zoom or pan: the x range shown (start, end).")


zoom_plotly = ZoomPlotly.create
