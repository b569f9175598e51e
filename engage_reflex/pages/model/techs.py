"""`/models/[model_id]/techs`: the model's technologies by base tech; new and copied technologies."""

import reflex as rx

from engage_reflex.components.editor import area_href, editor_page
from engage_reflex.components.feedback import empty_state, error_callout, swatch
from engage_reflex.components.layout import loading, section
from engage_reflex.schemas.techs import TechSummary
from engage_reflex.state.model.techs import BASE_TECH_HINTS as HINTS
from engage_reflex.state.model.techs import BASE_TECHS, TechsState

S = TechsState
TITLES = {"supply": "Supply", "demand": "Demand", "storage": "Storage", "conversion": "Conversion",
          "transmission": "Transmission"}
SELECT_STYLE = {"padding": "0.35em 0.5em", "border_radius": "6px", "border": f"1px solid {rx.color('gray', 7)}",
                "background": rx.color("gray", 1), "font_size": "14px", "width": "100%", "height": "34px"}


def field(label: str, control_id: str, control: rx.Component, hint: str | rx.Var = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium", as_="span"), html_for=control_id),
        control,
        rx.text(hint, size="1", color=rx.color("gray", 10)) if isinstance(hint, rx.Var) or hint else rx.fragment(),
        spacing="1", width="100%",
    )


def native_select(name: str, control_id: str, options, *, value=None, on_change=None, placeholder: str = ""):
    items = [rx.el.option(placeholder, value="", disabled=True)] if placeholder else []
    props = {"value": value} if value is not None else {"default_value": ""}
    if on_change is not None:
        props["on_change"] = on_change
    return rx.el.select(*items, rx.foreach(options, lambda o: rx.el.option(o, value=o)) if isinstance(options, rx.Var)
                        else rx.fragment(*[rx.el.option(label, value=val) for val, label in options]),
                        name=name, id=control_id, style=SELECT_STYLE, **props)


def carrier_fields(base, prefix: str, carriers, current_in="", current_out="") -> rx.Component:
    """The carrier pickers a base tech needs (supply: output; demand: input; storage and
    transmission: one carrier for both; conversion: input and output)."""
    def pick(name: str, label: str, hint: str, current):
        control_id = f"{prefix}-{name}"
        return field(label, control_id, rx.el.select(
            rx.el.option("Choose a carrier", value=""), rx.foreach(carriers, lambda c: rx.el.option(c, value=c)),
            name=name, id=control_id, default_value=current, style=SELECT_STYLE), hint)

    return rx.match(
        base,
        ("supply", pick("carrier_out", "Output carrier", "What it produces.", current_out)),
        ("demand", pick("carrier_in", "Input carrier", "What it consumes.", current_in)),
        ("conversion", rx.grid(pick("carrier_in", "Input carrier", "What it converts.", current_in),
                               pick("carrier_out", "Output carrier", "What it converts into.", current_out),
                               columns="2", spacing="3", width="100%")),
        pick("carrier", "Carrier", rx.cond(base == "storage", "What it stores (taken in and given back out).",
                                           "What it moves between locations."), current_out),
    )


def new_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("New technology"),
            rx.dialog.description("Start from one of Calliope's five base technologies; set its parameters next.",
                                  size="2", color=rx.color("gray", 11)),
            rx.form(
                rx.vstack(
                    field("Base technology", "new-base",
                          native_select("base_tech", "new-base", [(b, TITLES[b]) for b in BASE_TECHS],
                                        value=S.new_base, on_change=S.set_new_base)),
                    rx.match(S.new_base, *[(b, rx.text(HINTS[b], size="1", color=rx.color("gray", 11)))
                                           for b in BASE_TECHS], rx.fragment()),
                    field("Name", "new-name", rx.input(name="name", id="new-name", placeholder="e.g. ccgt",
                                                       width="100%", auto_focus=True),
                          "The key Calliope uses: letters, digits and underscores, starting with a letter."),
                    field("Display name", "new-display", rx.input(name="display_name", id="new-display",
                                                                  placeholder="e.g. Combined cycle gas turbine",
                                                                  width="100%"), "What charts and legends show."),
                    field("Colour", "new-color", rx.el.input(type="color", name="color", id="new-color",
                                                             default_value="#1f77b4",
                                                             style={"width": "4em", "height": "2em"})),
                    carrier_fields(S.new_base, "new", S.carriers),
                    rx.cond(S.carriers.length() == 0,
                            rx.callout(rx.hstack(rx.text("This model has no carriers yet."),
                                                 rx.link("Add one on the Carriers page", href=area_href("/carriers"))),
                                       icon="info", size="1", color_scheme="amber")),
                    rx.cond(S.new_error != "", error_callout(S.new_error, id="new-tech-error", size="1")),
                    rx.hstack(rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                              rx.button("Create technology", type="submit"), justify="end", spacing="3", width="100%"),
                    spacing="3", width="100%",
                ),
                on_submit=S.create, reset_on_submit=False,
            ),
            max_width="540px",
        ),
        open=S.new_open, on_open_change=S.set_new_open,
    )


def copy_dialog() -> rx.Component:
    def options(choices):
        return rx.foreach(choices, lambda c: rx.el.option(c.label, value=c.value))

    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Copy a technology"),
            rx.dialog.description("From this model or any model you can view, with its parameters. Its carriers "
                                  "are matched by name here; missing ones are added.", size="2",
                                  color=rx.color("gray", 11)),
            rx.form(
                rx.vstack(
                    field("From model", "copy-model", rx.el.select(
                        rx.el.option("Choose a model", value="", disabled=True), options(S.copy_models),
                        name="copy_model", id="copy-model", value=S.copy_model, on_change=S.set_copy_model, style=SELECT_STYLE)),
                    field("Technology", "copy-tech", rx.el.select(
                        options(S.copy_techs), name="copy_tech", id="copy-tech", value=S.copy_tech, on_change=S.set_copy_tech,
                        style=SELECT_STYLE)),
                    field("New name (optional)", "copy-name",
                          rx.input(name="copy_name", id="copy-name", placeholder="Keeps its name if free",
                                   width="100%")),
                    rx.cond(S.copy_error != "", error_callout(S.copy_error, id="copy-tech-error", size="1")),
                    rx.hstack(rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                              rx.button("Copy technology", type="submit"), justify="end", spacing="3", width="100%"),
                    spacing="3", width="100%",
                ),
                on_submit=S.copy, reset_on_submit=False,
            ),
            max_width="540px",
        ),
        open=S.copy_open, on_open_change=S.set_copy_open,
    )


def carriers_text(tech: TechSummary) -> rx.Component:
    return rx.text(
        rx.cond(tech.carriers_in.length() > 0, tech.carriers_in.join(", "), ""),
        rx.cond((tech.carriers_in.length() > 0) & (tech.carriers_out.length() > 0), " → ", ""),
        rx.cond(tech.carriers_out.length() > 0, tech.carriers_out.join(", "), ""),
        size="2", color=rx.color("gray", 11))


def tech_row(tech: TechSummary) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.hstack(
            swatch(tech.color),
            rx.link(tech.display_name, href=area_href("/techs/") + tech.id.to_string(), weight="medium"),
            rx.code(tech.name, size="1", variant="ghost"), align="center", spacing="2")),
        rx.table.cell(carriers_text(tech)),
        rx.table.cell(rx.cond(tech.base_tech == "transmission", rx.text(tech.link_count, " links", size="2"),
                              rx.text(tech.node_count, " locations", size="2"))),
        rx.table.cell(rx.text(tech.parameter_count, " set", size="2")),
    )


def group(base: str) -> rx.Component:
    rows = S.by_base[base]
    return rx.cond(
        rows.length() > 0,
        rx.vstack(
            rx.heading(TITLES[base], size="3", as_="h3"),
            rx.text(HINTS[base], size="1", color=rx.color("gray", 10)),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               ("Technology", "Carriers", "Placed", "Parameters")])),
                rx.table.body(rx.foreach(rows, tech_row)),
                width="100%", size="1", variant="surface",
            ),
            spacing="1", width="100%", class_name="tech-group",
        ),
    )


@editor_page("techs", "Technologies", on_load=[TechsState.load])
def techs_page() -> rx.Component:
    actions = rx.cond(S.can_edit, rx.hstack(
        rx.button(rx.icon("plus", size=16), "New technology", on_click=S.set_new_open(True)),
        rx.button(rx.icon("copy", size=16), "Copy a technology", variant="soft", on_click=S.open_copy),
        spacing="3"))
    return rx.cond(
        S.loaded,
        rx.cond(
            S.error != "",
            error_callout(S.error, id="techs-error"),
            section(
                "Technologies",
                rx.hstack(rx.text(S.tech_count, " technologies. Click one to set its parameters.", size="2",
                                  color=rx.color("gray", 11)), rx.spacer(), actions, width="100%",
                          align="center", wrap="wrap"),
                rx.cond(S.tech_count > 0, rx.vstack(*[group(b) for b in BASE_TECHS], spacing="5", width="100%"),
                        empty_state("cpu", "No technologies yet",
                                    "Technologies supply, store, convert, move or consume carriers. Start with "
                                    "“New technology”, or copy one from a sample model.")),
                new_dialog(), copy_dialog(),
                icon="cpu",
            ),
        ),
        loading("Loading the technologies…"),
    )

