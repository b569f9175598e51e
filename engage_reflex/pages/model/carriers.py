"""`/models/[model_id]/carriers`: what flows through the model (electricity, heat, gas, …) and its units."""

import reflex as rx

from engage_reflex.components.editor import editor_page
from engage_reflex.components.feedback import empty_state, error_callout, swatch
from engage_reflex.components.layout import loading, section
from engage_reflex.pages.model.locations import field
from engage_reflex.schemas.locations import CarrierRow
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.carriers import CarriersState

S = CarriersState


def carrier_form() -> rx.Component:
    def text_input(name: str, control_id: str, value, placeholder: str = "", **props) -> rx.Component:
        return rx.input(name=name, id=control_id, default_value=value, placeholder=placeholder, width="100%", **props)

    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.edit_id == 0, "Add a carrier", "Edit carrier")),
            rx.dialog.description("A carrier is what technologies take in and give out, such as electricity, "
                                  "heat or gas.", size="2", color=rx.color("gray", 11)),
            rx.form(
                rx.vstack(
                    field("Name", "carrier-name", text_input("name", "carrier-name", S.form_name, "e.g. electricity",
                                                             auto_focus=True),
                          "Letters, digits and underscores, starting with a letter."),
                    rx.grid(
                        field("Rate unit", "carrier-rate", text_input("rate_unit", "carrier-rate", S.form_rate, "kW"),
                              "Power or flow, e.g. kW, MW, t/h."),
                        field("Quantity unit", "carrier-quantity",
                              text_input("quantity_unit", "carrier-quantity", S.form_quantity, "kWh"),
                              "The rate over time, e.g. kWh, MWh, t."),
                        columns="2", spacing="3", width="100%",
                    ),
                    field("Colour", "carrier-color",
                          rx.el.input(type="color", name="color", id="carrier-color", default_value=S.form_color,
                                      style={"width": "4em", "height": "2em", "padding": "0", "border": "none"}),
                          "Used for this carrier in charts."),
                    field("Description", "carrier-description",
                          rx.text_area(name="description", id="carrier-description", default_value=S.form_description,
                                       width="100%", rows="2")),
                    rx.cond(S.form_error != "", error_callout(S.form_error, id="carrier-form-error", size="1")),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                        rx.button(rx.cond(S.edit_id == 0, "Add carrier", "Save"), type="submit"),
                        justify="end", spacing="3", width="100%",
                    ),
                    spacing="3", width="100%",
                ),
                on_submit=S.save_form, reset_on_submit=False,
            ),
            max_width="520px",
        ),
        open=S.form_open, on_open_change=S.set_form_open,
    )


def delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete carrier “", S.delete_name, "”?"),
            rx.alert_dialog.description("No technology uses it. This cannot be undone.", size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=S.confirm_delete)),
                justify="end", spacing="3", padding_top="0.5em",
            ),
        ),
        open=S.delete_open, on_open_change=S.set_delete_open,
    )


def carrier_row(row: CarrierRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.hstack(swatch(row.color), rx.text(row.name), align="center", spacing="2")),
        rx.table.cell(row.rate_unit, " / ", row.quantity_unit),
        rx.table.cell(rx.text(row.description, size="2"), max_width="280px"),
        rx.table.cell(rx.cond(row.used_by.length() > 0, rx.text(row.used_by.join(", "), size="2"),
                              rx.text("not used yet", size="2", color=rx.color("gray", 10)))),
        rx.cond(ModelEditorState.can_edit, rx.table.cell(rx.hstack(
            rx.button("Edit", size="1", variant="soft", on_click=S.open_edit(row.id),
                      custom_attrs={"aria-label": "Edit " + row.name}),
            rx.button("Delete", size="1", variant="soft", color_scheme="red", on_click=S.ask_delete(row.id),
                      custom_attrs={"aria-label": "Delete " + row.name}),
            spacing="2"))),
        class_name="carrier-row",
    )


def carriers_table() -> rx.Component:
    head = rx.table.header(rx.table.row(
        *[rx.table.column_header_cell(title) for title in ("Carrier", "Units (rate / quantity)", "Description",
                                                           "Used by")],
        rx.cond(ModelEditorState.can_edit, rx.table.column_header_cell("Actions")),
    ))
    return rx.box(rx.table.root(head, rx.table.body(rx.foreach(S.rows, carrier_row)), size="1", width="100%",
                                id="carriers-table"), width="100%", overflow_x="auto")


@editor_page("carriers", "Carriers", on_load=[CarriersState.load])
def model_carriers_page() -> rx.Component:
    return rx.cond(
        S.loaded,
        rx.cond(
            S.error != "",
            error_callout(S.error, id="carriers-error"),
            rx.vstack(
                section(
                    "Carriers",
                    rx.hstack(
                        rx.text("Units convert what you type in technology parameters (e.g. “5 MW” with kW "
                                "becomes 5000).", size="2", color=rx.color("gray", 11)),
                        rx.spacer(),
                        rx.cond(ModelEditorState.can_edit,
                                rx.button(rx.icon("plus", size=16), "Add carrier", on_click=S.open_add)),
                        align="center", width="100%", spacing="3", wrap="wrap",
                    ),
                    rx.cond(S.rows.length() > 0, carriers_table(),
                            empty_state("cable", "No carriers yet",
                                        "Add the carriers your technologies use, such as electricity or heat.")),
                    icon="cable",
                ),
                carrier_form(),
                delete_dialog(),
                spacing="4", width="100%",
            ),
        ),
        loading("Loading the carriers…"),
    )
