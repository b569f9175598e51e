"""`/models/[model_id]/scenarios`: what a run solves — which nodes and links are on, settings, group constraints."""

import reflex as rx

from engage_reflex.components.editor import editor_page
from engage_reflex.components.feedback import empty_state, error_callout
from engage_reflex.components.layout import loading, section
from engage_reflex.components.map import leaflet_map
from engage_reflex.pages.model.locations import field
from engage_reflex.pages.model.timeseries import SELECT_STYLE
from engage_reflex.schemas.scenarios import ConstraintRow, ScenarioSummary, SwitchRow
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.scenario_constraints import FieldView, Option, ScenarioConstraintsState
from engage_reflex.state.model.scenario_settings import ScenarioSettingsState
from engage_reflex.state.model.scenarios import ScenariosState

S, T, C = ScenariosState, ScenarioSettingsState, ScenarioConstraintsState
EDIT = ModelEditorState.can_edit
BASE_TECHS = [("any", "Any base technology"), ("supply", "Supply"), ("demand", "Demand"), ("storage", "Storage"),
              ("conversion", "Conversion"), ("transmission", "Transmission (links)")]
STATES = [("any", "On and off"), ("on", "Only on"), ("off", "Only off")]
MODES = [("plan", "Plan: choose what to build and how to run it"),
         ("operate", "Operate: run fixed capacities in rolling windows"),
         ("spores", "SPORES: near-optimal alternatives after the first solve")]
GRAY = rx.color("gray", 11)


def native_select(control_id: str, options, *, name: str = "", value=None, default=None, on_change=None):
    items = [rx.el.option(label, value=key) for key, label in options] if isinstance(options, list) else \
        [rx.foreach(options, lambda pair: rx.el.option(pair[1], value=pair[0]))]
    props = {"value": value} if value is not None else {"default_value": default} if default is not None else {}
    return rx.el.select(*items, id=control_id, name=name or control_id, style=SELECT_STYLE,
                        **({"on_change": on_change} if on_change else {}), **props)


# ---------------------------------------------------------------- the list and its dialogs


def scenario_row(row: ScenarioSummary) -> rx.Component:
    changes = rx.hstack(
        rx.cond(row.nodes_off > 0, rx.badge(row.nodes_off, " nodes off", color_scheme="gray")),
        rx.cond(row.links_off > 0, rx.badge(row.links_off, " links off", color_scheme="gray")),
        rx.cond(row.constraints > 0, rx.badge(row.constraints, " constraints", color_scheme="violet")),
        rx.cond(row.settings_changed > 0, rx.badge(row.settings_changed, " settings", color_scheme="blue")),
        rx.cond(row.has_imported_overrides, rx.badge("Calliope overrides", color_scheme="amber")),
        spacing="1", wrap="wrap")
    return rx.table.row(
        rx.table.row_header_cell(rx.button(row.name, variant=rx.cond(row.id == S.selected_id, "solid", "ghost"),
                                           size="1", on_click=S.select(row.id),
                                           custom_attrs={"aria-label": "Show scenario " + row.name})),
        rx.table.cell(rx.text(row.description, size="2"), max_width="320px"),
        rx.table.cell(changes),
        rx.table.cell(row.run_count),
        class_name="scenario-row",
    )


def scenario_list() -> rx.Component:
    head = rx.table.header(rx.table.row(*[rx.table.column_header_cell(t) for t in
                                          ("Scenario", "Description", "Changes from the model", "Runs")]))
    return section(
        "Scenarios",
        rx.hstack(
            rx.text("A scenario is what a run solves: the model with some nodes or links switched off, its own "
                    "settings and group constraints.", size="2", color=GRAY),
            rx.spacer(),
            rx.cond(EDIT, rx.hstack(
                rx.button(rx.icon("plus", size=16), "New scenario", on_click=S.open_form("new")),
                rx.button("Copy", variant="soft", on_click=S.open_form("copy"),
                          custom_attrs={"aria-label": "Copy the shown scenario"}),
                rx.button("Rename", variant="soft", on_click=S.open_form("rename"),
                          custom_attrs={"aria-label": "Rename the shown scenario"}),
                rx.button("Delete", variant="soft", color_scheme="red", on_click=S.set_delete_open(True),
                          custom_attrs={"aria-label": "Delete the shown scenario"}),
                spacing="2")),
            align="center", width="100%", spacing="3", wrap="wrap"),
        rx.table.root(head, rx.table.body(rx.foreach(S.scenarios, scenario_row)), size="1", width="100%",
                      id="scenarios-table"),
        icon="layers",
    )


def scenario_form() -> rx.Component:
    title = rx.match(S.form_mode, ("copy", "Copy the scenario"), ("rename", "Rename the scenario"), "New scenario")
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(title),
        rx.dialog.description(rx.match(
            S.form_mode, ("copy", "The copy keeps every switch, setting and constraint of “" + S.detail.name + "”."),
            ("rename", "Runs of the scenario keep pointing at it."),
            "A new scenario starts as the model is: everything on, the model's settings, no constraints."),
            size="2", color=GRAY),
        rx.form(rx.vstack(
            field("Name", "scenario-name", rx.input(name="name", id="scenario-name", default_value=S.form_name,
                                                    width="100%", auto_focus=True)),
            rx.cond(S.form_mode != "copy", field("Description", "scenario-description", rx.text_area(
                name="description", id="scenario-description", default_value=S.form_description, rows="2",
                width="100%"))),
            rx.cond(S.form_error != "", error_callout(S.form_error, id="scenario-form-error", size="1")),
            rx.hstack(rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                      rx.button(rx.match(S.form_mode, ("copy", "Copy"), ("rename", "Save"), "Create scenario"),
                                type="submit"), justify="end", spacing="3", width="100%"),
            spacing="3", width="100%"), on_submit=S.save_form, reset_on_submit=False),
        max_width="520px"), open=S.form_open, on_open_change=S.set_form_open)


def delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title("Delete scenario “", S.detail.name, "”?"),
        rx.alert_dialog.description("Its runs and their results are deleted with it. This cannot be undone.",
                                    size="2"),
        rx.hstack(rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                  rx.alert_dialog.action(rx.button("Delete scenario", color_scheme="red", on_click=S.confirm_delete)),
                  justify="end", spacing="3", padding_top="0.5em")),
        open=S.delete_open, on_open_change=S.set_delete_open)


# ---------------------------------------------------------------- nodes and links


def switch_row(row: SwitchRow) -> rx.Component:
    label = rx.cond(row.kind == "link", "Link " + row.tech, row.tech + " at " + row.location)
    return rx.table.row(
        rx.table.cell(row.location), rx.table.cell(row.tech), rx.table.cell(row.base_tech),
        rx.table.cell(rx.switch(checked=row.active, disabled=~EDIT,
                                on_change=lambda on: S.toggle_row(row.kind, row.id, on),
                                custom_attrs={"aria-label": label})),
        class_name="switch-row")


def filters() -> rx.Component:
    def labelled(label: str, control_id: str, control) -> rx.Component:
        return rx.vstack(rx.el.label(rx.text(label, size="1", weight="medium", as_="span"), html_for=control_id),
                         control, spacing="1")

    return rx.hstack(
        labelled("Location", "filter-location", rx.input(id="filter-location", value=S.location_filter,
                                                         debounce_timeout=300, placeholder="any",
                                                         on_change=lambda v: S.set_filter("location_filter", v))),
        labelled("Technology", "filter-tech", rx.input(id="filter-tech", value=S.tech_filter, debounce_timeout=300,
                                                       placeholder="any",
                                                       on_change=lambda v: S.set_filter("tech_filter", v))),
        labelled("Base technology", "filter-base", native_select(
            "filter-base", BASE_TECHS, value=rx.cond(S.base_tech_filter == "", "any", S.base_tech_filter),
            on_change=lambda v: S.set_filter("base_tech_filter", v))),
        labelled("Shown", "filter-state", native_select(
            "filter-state", STATES, value=rx.cond(S.state_filter == "", "any", S.state_filter),
            on_change=lambda v: S.set_filter("state_filter", v))),
        rx.cond(EDIT, rx.hstack(
            rx.button("Switch all filtered on", variant="soft", on_click=S.switch_filtered(True)),
            rx.button("Switch all filtered off", variant="soft", color_scheme="gray",
                      on_click=S.switch_filtered(False)),
            spacing="2", align="end")),
        spacing="3", wrap="wrap", align="end", width="100%")


def nodes_tab() -> rx.Component:
    d = S.detail
    return rx.vstack(
        rx.text(d.nodes_off, " of ", d.nodes_total, " nodes and ", d.links_off, " of ", d.links_total,
                " links are switched off in “", d.name, "”. A switched-off node or link is left out of the runs of "
                "this scenario.", size="2", id="switch-summary"),
        leaflet_map(markers=S.markers, lines=S.lines, editable=False, map_height="320px",
                    fit_key=S.selected_id.to_string(),
                    aria_label="Map of the scenario's locations", id="scenario-map", on_marker_click=S.map_click),
        rx.text("On the map: teal = everything on, amber = partly on, grey = all off; dashed lines are links that "
                "are off. Click a location to switch everything there off (or back on).", size="1", color=GRAY),
        filters(),
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(t) for t in
                                           ("Location", "Technology", "Base technology", "On")])),
            rx.table.body(rx.foreach(S.rows, switch_row)), size="1", width="100%", id="switch-table"),
        rx.cond(d.matching > S.rows.length(), rx.text(
            "Showing ", S.rows.length(), " of ", d.matching, " matching rows: narrow the filter to see the rest "
            "(the switch-all buttons act on all of them).", size="1", color=GRAY)),
        spacing="3", width="100%")


# ---------------------------------------------------------------- settings


def settings_tab() -> rx.Component:
    st = S.detail.settings
    return rx.form(rx.vstack(
        rx.text("Leave a setting as it is to use the model's own. The run form can still pick its own dates and "
                "resolution for one run.", size="2", color=GRAY),
        field("Mode", "setting-mode", native_select("setting-mode", MODES, value=T.shown_mode, on_change=T.pick_mode)),
        rx.cond(T.shown_mode == "operate", rx.grid(
            field("Window", "setting-window", rx.input(name="operate_window", id="setting-window",
                                                       default_value=st.operate_window), "How much is solved at once, "
                  "e.g. 24h."),
            field("Horizon", "setting-horizon", rx.input(name="operate_horizon", id="setting-horizon",
                                                         default_value=st.operate_horizon),
                  "How far each window looks ahead, at least the window, e.g. 48h."),
            columns="2", spacing="3", width="100%")),
        rx.cond(T.shown_mode == "spores", field(
            "Number of SPORES", "setting-spores", rx.input(name="spores_number", id="setting-spores", type="number",
                                                          default_value=st.spores_number.to_string()),
            "Alternative solutions after the first, 1 to 100.")),
        rx.el.fieldset(
            rx.el.legend(rx.text("Objective: weight of each cost class", size="2", weight="medium")),
            rx.hstack(rx.foreach(T.weight_rows, lambda pair: field(
                pair[0], "weight-" + pair[0], rx.input(name="weight__" + pair[0], id="weight-" + pair[0],
                                                       default_value=pair[1], width="8em"))), spacing="3", wrap="wrap"),
            rx.text("The run minimises the sum of each cost class times its weight (0 leaves a class out).",
                    size="1", color=GRAY),
            style={"border": "none", "padding": "0", "margin": "0"}),
        rx.hstack(rx.checkbox(name="cyclic_storage", id="setting-cyclic", default_checked=st.cyclic_storage),
                  rx.el.label(rx.text("Cyclic storage: storage ends the period at the level it started", size="2"),
                              html_for="setting-cyclic"), align="center", spacing="2"),
        rx.hstack(rx.checkbox(name="ensure_feasibility", id="setting-feasibility",
                              default_checked=st.ensure_feasibility),
                  rx.el.label(rx.text("Ensure feasibility: allow unmet demand at a high cost instead of failing "
                                      "(for finding problems)", size="2"), html_for="setting-feasibility"),
                  align="center", spacing="2"),
        rx.grid(
            field("First day", "setting-start", rx.input(type="date", name="subset_start", id="setting-start",
                                                         default_value=st.subset_start)),
            field("Last day", "setting-end", rx.input(type="date", name="subset_end", id="setting-end",
                                                      default_value=st.subset_end)),
            field("Time resolution", "setting-resample", rx.input(name="resample", id="setting-resample",
                                                                  default_value=st.resample, placeholder="as the data"),
                  "e.g. 3h or 1D; empty keeps the data's own steps."),
            columns="3", spacing="3", width="100%"),
        rx.cond(T.settings_error != "", error_callout(T.settings_error, id="settings-error", size="1")),
        rx.cond(EDIT, rx.button("Save settings", type="submit")),
        spacing="3", width="100%", align="start"),
        on_submit=T.save_settings, reset_on_submit=False, key=T.settings_key)


# ---------------------------------------------------------------- group constraints


def constraint_field(f: FieldView) -> rx.Component:
    def tick(option: Option) -> rx.Component:
        control_id = "c-" + f.key + "-" + option.item
        return rx.hstack(rx.checkbox(name=f.key + "__" + option.item, id=control_id, default_checked=option.checked),
                         rx.el.label(rx.text(option.item, size="2"), html_for=control_id), align="center", spacing="1")

    control_id = "constraint-" + f.key
    return rx.match(
        f.kind,
        ("techs", rx.el.fieldset(rx.el.legend(rx.text(f.label, size="2", weight="medium")),
                                 rx.flex(rx.foreach(f.options, tick), wrap="wrap", gap="2"),
                                 rx.text(f.hint, size="1", color=GRAY), style={"border": "none", "padding": "0"})),
        ("locations", rx.el.fieldset(rx.el.legend(rx.text(f.label, size="2", weight="medium")),
                                     rx.flex(rx.foreach(f.options, tick), wrap="wrap", gap="2"),
                                     rx.text(f.hint, size="1", color=GRAY), style={"border": "none", "padding": "0"})),
        ("carrier", field(f.label, control_id, rx.el.select(rx.foreach(f.choices, lambda c: rx.el.option(c, value=c)),
                                                            name=f.key, id=control_id, default_value=f.value,
                                                            style=SELECT_STYLE), f.hint)),
        ("cost_class", field(f.label, control_id, rx.el.select(
            rx.foreach(f.choices, lambda c: rx.el.option(c, value=c)), name=f.key, id=control_id,
            default_value=f.value, style=SELECT_STYLE), f.hint)),
        field(f.label, control_id, rx.input(name=f.key, id=control_id, default_value=f.value, width="12em"), f.hint),
    )


def constraint_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(rx.cond(C.constraint_id == 0, "Add a group constraint", "Edit the group constraint")),
        rx.dialog.description(C.template_description, size="2", color=GRAY),
        rx.form(rx.vstack(
            rx.cond(C.constraint_id == 0, field("Kind of constraint", "constraint-template", native_select(
                "constraint-template", C.template_choices, value=C.constraint_template, on_change=C.pick_template))),
            field("Name", "constraint-name", rx.input(name="name", id="constraint-name", width="100%",
                                                      default_value=C.constraint_name,
                                                      placeholder="e.g. max_wind_north")),
            # Keyed by kind so a new kind's fields start from its defaults; the name above is not
            # remounted, so what the planner typed before picking the kind stays.
            rx.box(rx.vstack(rx.foreach(C.constraint_fields, constraint_field), spacing="3", width="100%"),
                   key=C.constraint_template, width="100%"),
            rx.cond(C.constraint_error != "", error_callout(C.constraint_error, id="constraint-error", size="1")),
            rx.hstack(rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                      rx.button("Save constraint", type="submit"), justify="end", spacing="3", width="100%"),
            spacing="3", width="100%"), on_submit=C.save_constraint, reset_on_submit=False,
            key=C.constraint_id.to_string()),
        max_width="640px"), open=C.constraint_open, on_open_change=C.set_constraint_open)


def constraint_row(row: ConstraintRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row.name), rx.table.cell(row.title),
        rx.table.cell(rx.vstack(rx.text(row.summary, size="2"),
                                rx.cond(row.problem != "", rx.text(row.problem, size="1", color=rx.color("red", 11))),
                                spacing="1")),
        rx.cond(EDIT, rx.table.cell(rx.hstack(
            rx.button("Edit", size="1", variant="soft", on_click=C.open_constraint(row.id),
                      custom_attrs={"aria-label": "Edit constraint " + row.name}),
            rx.button("Remove", size="1", variant="soft", color_scheme="red", on_click=C.delete_constraint(row.id),
                      custom_attrs={"aria-label": "Remove constraint " + row.name}), spacing="2"))),
        class_name="constraint-row")


def constraints_tab() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.text("Group constraints limit sets of technologies and locations together, e.g. at most 100 MW "
                          "of wind in the north. They are written as Calliope custom math for every run of this "
                          "scenario.", size="2", color=GRAY),
                  rx.spacer(), rx.cond(EDIT, rx.button(rx.icon("plus", size=16), "Add constraint",
                                                       on_click=C.open_constraint(0))),
                  width="100%", align="center", spacing="3"),
        rx.cond(S.constraints.length() > 0, rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(t) for t in ("Name", "Kind", "What it says")],
                                         rx.cond(EDIT, rx.table.column_header_cell("Actions")))),
            rx.table.body(rx.foreach(S.constraints, constraint_row)), size="1", width="100%", id="constraints-table"),
            empty_state("ruler", "No group constraints", "This scenario has no group constraints.")),
        constraint_dialog(),
        spacing="3", width="100%")


@editor_page("scenarios", "Scenarios", on_load=[ScenariosState.load])
def model_scenarios_page() -> rx.Component:
    return rx.cond(S.loaded, rx.cond(
        S.error != "", error_callout(S.error, id="scenarios-error"),
        rx.vstack(
            scenario_list(),
            rx.cond(S.selected_id > 0, section(
                "Scenario “" + S.detail.name + "”",
                rx.cond(S.detail.imported_overrides.length() > 0, rx.text(
                    "Imported with the Calliope overrides ", S.detail.imported_overrides.join(", "),
                    "; they still apply, and the settings below win over them.", size="2", color=GRAY)),
                rx.tabs.root(
                    rx.tabs.list(rx.tabs.trigger("Nodes and links", value="nodes"),
                                 rx.tabs.trigger("Settings", value="settings"),
                                 rx.tabs.trigger("Group constraints", value="constraints")),
                    rx.tabs.content(nodes_tab(), value="nodes", padding_top="1em"),
                    rx.tabs.content(settings_tab(), value="settings", padding_top="1em"),
                    rx.tabs.content(constraints_tab(), value="constraints", padding_top="1em"),
                    default_value="nodes", width="100%"),
                icon="sliders-horizontal")),
            scenario_form(), delete_dialog(),
            spacing="4", width="100%")),
        loading("Loading the scenarios…"))
