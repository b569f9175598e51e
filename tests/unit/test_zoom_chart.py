"""The zoomable chart leans on Reflex's plotly wrapper internals: fail loudly if an upgrade changes them."""

from __future__ import annotations

import reflex as rx

from engage_reflex.components.zoom_chart import zoom_plotly


class _ZoomProbe(rx.State):
    @rx.event
    def zoomed(self, start: str, end: str):
        self.start_end = (start, end)


def test_a_zoom_sends_the_x_range_to_the_server():
    props = " ".join(str(p) for p in zoom_plotly(on_relayout=_ZoomProbe.zoomed).render()["props"])
    assert "onRelayout" in props
    # Both ends of the range plotly reports after a zoom, and "auto" after a double click.
    assert '["start"] : String((_e0 ?? {})["xaxis.range[0]"]' in props
    assert '["end"] : String((_e0 ?? {})["xaxis.range[1]"]' in props
    assert '"xaxis.autorange"] ? "auto"' in props
