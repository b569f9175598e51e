"""`/models/[model_id]/nodes/[node_id]`: one technology at one location, and its overrides.

Each parameter shows where its value comes from: Calliope's default, the technology's value,
or this node's own value; the one that applies is highlighted.
"""

import reflex as rx

from engage_reflex.components.editor import area_href, editor_page
from engage_reflex.components.feedback import error_callout
from engage_reflex.components.layout import loading, section
from engage_reflex.components.parameter_editor import parameter_editor
from engage_reflex.state.model.node import NodeState

S = NodeState


@editor_page("nodes", "Node", on_load=[NodeState.load], subroute="/[node_id]")
def node_page() -> rx.Component:
    return rx.cond(
        S.loaded,
        rx.cond(
            S.error != "",
            rx.vstack(error_callout(S.error, id="node-error"),
                      rx.link("Back to Nodes & links", href=area_href("/nodes")), spacing="3"),
            rx.vstack(
                rx.link(rx.hstack(rx.icon("arrow-left", size=14), "Nodes & links", align="center", spacing="1"),
                        href=area_href("/nodes"), size="2"),
                rx.heading(S.node_tech_label, " at ", S.location, size="5", as_="h2", id="node-heading"),
                rx.text("A ", S.node_base_tech, " technology placed at ", S.location, ". ",
                        rx.link("Open the technology", href=area_href("/techs/") + S.node_tech_id.to_string()),
                        " to change its values everywhere.", size="2", color=rx.color("gray", 11)),
                section("Values at this location",
                        rx.text("Each parameter shows Calliope's default, the technology's value and this node's "
                                "own value; the highlighted one applies here. A value set here replaces the "
                                "technology's (for a cost: all its cost classes); clear it to use the "
                                "technology's again.", size="2", color=rx.color("gray", 11)),
                        parameter_editor(S, mode="node"), icon="sliders-horizontal"),
                spacing="4", width="100%",
            ),
        ),
        loading("Loading the node…"),
    )
