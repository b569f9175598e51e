"""`/models/[model_id]/techs/[tech_id]`: one technology — its essentials and its parameters."""

import reflex as rx

from engage_reflex.components.editor import area_href, editor_page
from engage_reflex.components.feedback import error_callout, swatch
from engage_reflex.components.layout import loading, section
from engage_reflex.components.parameter_editor import parameter_editor
from engage_reflex.pages.model.techs import TITLES, carrier_fields, field, native_select
from engage_reflex.state.model.tech import TechState
from engage_reflex.state.model.techs import BASE_TECHS

S = TechState


def essentials() -> rx.Component:
    view = rx.vstack(
        rx.text("Base technology: ", rx.el.strong(S.base_tech), size="2"),
        rx.text("Carriers: ", S.carrier_in, rx.cond((S.carrier_in != "") & (S.carrier_out != ""), " → ", ""),
                S.carrier_out, size="2"),
        rx.cond(S.description != "", rx.text(S.description, size="2", color=rx.color("gray", 11))),
        spacing="1",
    )
    form = rx.form(
        rx.vstack(
            rx.grid(
                field("Name", "tech-name", rx.input(name="name", id="tech-name", default_value=S.name, width="100%"),
                      "The key Calliope uses."),
                field("Display name", "tech-display", rx.input(name="display_name", id="tech-display",
                                                               default_value=S.display_name, width="100%")),
                field("Base technology", "tech-base",
                      native_select("base_tech", "tech-base", [(b, TITLES[b]) for b in BASE_TECHS],
                                    value=S.base_tech, on_change=S.set_base_tech),
                      "Changing it keeps the parameters; the carriers must suit the new kind."),
                field("Colour", "tech-color", rx.el.input(type="color", name="color", id="tech-color",
                                                          default_value=rx.cond(S.color != "", S.color, "#1f77b4"),
                                                          style={"width": "4em", "height": "2em"})),
                columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%",
            ),
            carrier_fields(S.base_tech, "tech", S.carriers, S.carrier_in, S.carrier_out),
            field("Description", "tech-description", rx.text_area(name="description", id="tech-description",
                                                                  default_value=S.description, rows="2",
                                                                  width="100%")),
            rx.hstack(rx.button("Save technology", type="submit"),
                      rx.button(rx.icon("trash-2", size=16), "Delete technology", type="button", color_scheme="red",
                                variant="soft", on_click=S.ask_delete),
                      spacing="3"),
            spacing="3", width="100%",
        ),
        on_submit=S.save_essentials, reset_on_submit=False, width="100%",
        key=S.current_tech.to_string(),  # new defaults when another technology opens on the same route
    )
    return section("Essentials", rx.cond(S.can_edit, form, view), icon="settings-2")


def delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete technology “", S.display_name, "”?"),
            rx.alert_dialog.description(S.usage_message, " This cannot be undone.", size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=S.confirm_delete)),
                justify="end", spacing="3", padding_top="0.5em",
            ),
        ),
        open=S.delete_open, on_open_change=S.set_delete_open,
    )


@editor_page("techs", "Technology", on_load=[TechState.load], subroute="/[tech_id]")
def tech_page() -> rx.Component:
    return rx.cond(
        S.loaded,
        rx.cond(
            S.error != "",
            rx.vstack(error_callout(S.error, id="tech-error"),
                      rx.link("Back to the technologies", href=area_href("/techs")), spacing="3"),
            rx.vstack(
                rx.link(rx.hstack(rx.icon("arrow-left", size=14), "All technologies", align="center", spacing="1"),
                        href=area_href("/techs"), size="2"),
                rx.hstack(swatch(S.color), rx.heading(S.display_name, size="5", as_="h2", id="tech-heading"),
                          rx.badge(S.base_tech, variant="surface", color_scheme="gray"), align="center", spacing="2"),
                essentials(),
                section("Parameters", rx.text("Calliope's parameters for this technology. Values may carry units "
                                              "(5 MW, 20 USD/MWh): they are converted into the carrier's units; "
                                              "what you typed is kept. Cost parameters are set per cost class.",
                                              size="2", color=rx.color("gray", 11)),
                        parameter_editor(S, mode="tech"), icon="sliders-horizontal"),
                delete_dialog(),
                spacing="4", width="100%",
            ),
        ),
        loading("Loading the technology…"),
    )
