"""The parameter editor: Calliope's parameters of one technology (or one node), searchable by
name or title, filtered by category, each with its default, its value(s) and a field to set it.

`state` is a state class with: rows (list[ParameterRow], already filtered), search, category,
cost_classes, series_options (the model's timeseries), can_edit, and the events set_search,
set_category, save_value(form), attach_series(form) and clear_value(name, cost_class). `mode`
"tech" shows default and value; "node" shows the inheritance Calliope default -> technology ->
this node with the value that applies highlighted. Only the filtered rows are rendered, as plain components.
"""

from __future__ import annotations

import reflex as rx

from engage_reflex.schemas.techs import ClassValue, ParameterRow

CATEGORY_CHOICES = [("all", "All categories"), ("capacity", "Capacity"), ("costs", "Costs"),
                    ("efficiency", "Efficiency"), ("storage", "Storage"), ("time series", "Time series"),
                    ("other", "Other")]
_SELECT_STYLE = {"padding": "0.3em 0.5em", "border_radius": "6px", "border": f"1px solid {rx.color('gray', 7)}",
                 "background": rx.color("gray", 1), "font_size": "14px", "height": "32px"}


def _value_text(value: ClassValue) -> rx.Component:
    return rx.hstack(
        rx.cond(value.cost_class != "", rx.badge(value.cost_class, variant="surface", color_scheme="gray", size="1")),
        rx.text(value.value_text, size="2", weight="medium", class_name="param-value"),
        rx.cond(value.raw != value.value_text,
                rx.text("(typed “", value.raw, "”)", size="1", color=rx.color("gray", 10))),
        align="center", spacing="1",
    )


def _values(values, state, name, removable) -> rx.Component:
    def one(value: ClassValue) -> rx.Component:
        return rx.hstack(
            _value_text(value),
            rx.cond(state.can_edit,
                    rx.button("Clear", size="1", variant="ghost", color_scheme="red", type="button",
                              custom_attrs={"aria-label": rx.cond(value.cost_class != "",
                                                                  f"Clear {name} ({value.cost_class})",
                                                                  f"Clear {name}")},
                              on_click=state.clear_value(name, value.cost_class))) if removable else rx.fragment(),
            align="center", spacing="2",
        )

    return rx.vstack(rx.foreach(values, one), spacing="1")


def _set_form(row: ParameterRow, state) -> rx.Component:
    value_label = f"New value of {row.name}"
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="param", value=row.name),
            rx.cond(
                row.by_cost_class,
                rx.el.select(rx.foreach(state.cost_classes, lambda c: rx.el.option(c, value=c)), name="cost_class",
                             custom_attrs={"aria-label": f"Cost class of {row.name}"}, style=_SELECT_STYLE),
            ),
            rx.cond(
                row.options.length() > 0,
                rx.el.select(rx.foreach(row.options, lambda o: rx.el.option(o, value=o)), name="raw",
                             custom_attrs={"aria-label": value_label}, style=_SELECT_STYLE),
                rx.input(name="raw", placeholder=rx.cond(row.unit != "", "e.g. 5 " + row.unit, "e.g. 0.9"),
                         custom_attrs={"aria-label": value_label}, size="2", width="13em"),
            ),
            rx.button("Set", type="submit", size="2", variant="soft",
                      custom_attrs={"aria-label": f"Set {row.name}"}),
            align="center", spacing="2", wrap="wrap",
        ),
        on_submit=state.save_value, reset_on_submit=True,
    )


def _series_form(row: ParameterRow, state) -> rx.Component:
    """Let a number parameter follow one of the model's timeseries."""
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="param", value=row.name),
            rx.cond(
                row.by_cost_class,
                rx.el.select(rx.foreach(state.cost_classes, lambda c: rx.el.option(c, value=c)), name="cost_class",
                             custom_attrs={"aria-label": f"Cost class of the timeseries for {row.name}"},
                             style=_SELECT_STYLE),
            ),
            rx.el.select(
                rx.el.option("a timeseries…", value=""),
                rx.foreach(state.series_options, lambda s: rx.el.option(s.name, value=s.id.to_string())),
                name="series_id", default_value="", style=_SELECT_STYLE,
                custom_attrs={"aria-label": f"Choose a timeseries for {row.name}"}),
            rx.button("Use", type="submit", size="2", variant="soft", color_scheme="gray",
                      custom_attrs={"aria-label": f"Apply the chosen timeseries to {row.name}"}),
            align="center", spacing="2",
        ),
        on_submit=state.attach_series, reset_on_submit=True,
    )


def _level(label: str, content: rx.Component, active) -> rx.Component:
    return rx.box(
        rx.text(label, size="1", color=rx.color("gray", 10)),
        content,
        padding="0.35em 0.6em", border_radius="6px", min_width="8em",
        border=rx.cond(active, f"2px solid {rx.color('accent', 8)}", f"1px solid {rx.color('gray', 5)}"),
        background_color=rx.cond(active, rx.color("accent", 3), "transparent"),
        custom_attrs={"data-effective": rx.cond(active, "true", "false")},
    )


def _not_set() -> rx.Component:
    return rx.text("not set", size="2", color=rx.color("gray", 9))


def _inheritance(row: ParameterRow, state) -> rx.Component:
    arrow = rx.icon("chevron-right", size=14, color=rx.color("gray", 9))
    return rx.hstack(
        _level("Calliope default", rx.text(row.default_text, size="2"), row.effective_source == "default"),
        arrow,
        _level("Technology", rx.cond(row.tech_values.length() > 0, _values(row.tech_values, state, row.name, False),
                                     _not_set()), row.effective_source == "technology"),
        arrow,
        _level("This node", rx.cond(row.is_set, _values(row.set_values, state, row.name, True), _not_set()),
               row.effective_source == "node"),
        align="center", spacing="2", wrap="wrap",
    )


def parameter_row(row: ParameterRow, state, mode: str) -> rx.Component:
    header = rx.hstack(
        rx.text(row.title, weight="bold", size="2"),
        rx.code(row.name, size="1", variant="ghost"),
        rx.cond(row.unit != "", rx.badge(row.unit, variant="soft", color_scheme="blue", size="1")),
        rx.badge(row.category, variant="outline", color_scheme="gray", size="1"),
        rx.cond(row.by_cost_class, rx.badge("per cost class", variant="soft", color_scheme="green", size="1")),
        rx.cond(row.note != "", rx.badge(row.note, variant="soft", color_scheme="amber", size="1")),
        align="center", spacing="2", wrap="wrap",
    )
    if mode == "node":
        values = _inheritance(row, state)
    else:
        values = rx.hstack(
            rx.text("Default: ", rx.el.span(row.default_text, font_weight="500"), size="2",
                    color=rx.color("gray", 11)),
            rx.cond(row.is_set, rx.hstack(rx.text("Value:", size="2", color=rx.color("gray", 11)),
                                          _values(row.set_values, state, row.name, True), align="start", spacing="2")),
            align="start", spacing="5", wrap="wrap",
        )
    return rx.box(
        rx.vstack(
            header,
            rx.cond(row.description != "", rx.text(row.description, size="1", color=rx.color("gray", 10))),
            rx.flex(values, rx.spacer(), rx.cond(state.can_edit, rx.vstack(
                _set_form(row, state),
                rx.cond((row.dtype == "float") & (state.series_options.length() > 0), _series_form(row, state)),
                spacing="2", align="end")),
                    align="center", gap="3", wrap="wrap", width="100%"),
            spacing="2", width="100%",
        ),
        padding_y="0.7em", border_bottom=f"1px solid {rx.color('gray', 4)}", width="100%",
        class_name="parameter-row", custom_attrs={"data-parameter": row.name},
        key=row.name,  # a typed value stays with its parameter when the filter changes the list
    )


def parameter_editor(state, *, mode: str = "tech") -> rx.Component:
    search_id = f"{mode}-parameter-search"
    return rx.vstack(
        rx.flex(
            rx.vstack(
                rx.el.label(rx.text("Search parameters", size="2", weight="medium", as_="span"), html_for=search_id),
                rx.input(id=search_id, value=state.search, on_change=state.set_search.debounce(250),
                         placeholder="Name or title, e.g. cost or efficiency", width="20em"),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label(rx.text("Category", size="2", weight="medium", as_="span"),
                            html_for=f"{mode}-parameter-category"),
                rx.el.select(*[rx.el.option(label, value=value) for value, label in CATEGORY_CHOICES],
                             id=f"{mode}-parameter-category", value=state.category,
                             on_change=state.set_category, style=_SELECT_STYLE),
                spacing="1",
            ),
            rx.text(state.rows.length(), " parameters shown", size="1", color=rx.color("gray", 10),
                    align_self="end"),
            gap="4", wrap="wrap", align="end", width="100%",
        ),
        rx.cond(
            state.rows.length() > 0,
            rx.box(rx.foreach(state.rows, lambda row: parameter_row(row, state, mode)), width="100%",
                   id=f"{mode}-parameters"),
            rx.text("No parameter matches. Try another word or “All categories”.", size="2",
                    color=rx.color("gray", 10)),
        ),
        spacing="3", width="100%",
    )
