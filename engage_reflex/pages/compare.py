"""`/models/[model_id]/compare?a=12&b=15`: two runs of one model, what differed in their inputs beside
what changed in their results, with both runs' plots below."""

import reflex as rx

from engage_reflex.components.feedback import empty_state, error_callout
from engage_reflex.components.layout import app_page, loading, section
from engage_reflex.schemas.compare import InputChange
from engage_reflex.state.compare import CompareState, DeltaRow

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}
HINT = {"size": "1", "color": rx.color("gray", 10)}


def run_select(label: str, id: str, value, on_change) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium", as_="span"), html_for=id),
        rx.select.root(
            rx.select.trigger(id=id, placeholder="Pick a run", width="100%", custom_attrs={"aria-label": label}),
            rx.select.content(rx.foreach(CompareState.choices, lambda c: rx.select.item(c.label, value=c.id))),
            value=value, on_change=on_change,
        ),
        spacing="1", width="100%",
    )


def chooser() -> rx.Component:
    return rx.card(rx.flex(
        run_select("First run", "first-run", CompareState.first, CompareState.set_first),
        run_select("Second run", "second-run", CompareState.second, CompareState.set_second),
        rx.button(rx.icon("git-compare", size=16), "Compare", on_click=CompareState.run_compare, id="compare-button",
                  size="2", flex_shrink="0"),
        direction=rx.breakpoints(initial="column", sm="row"), align=rx.breakpoints(initial="stretch", sm="end"),
        spacing="4", width="100%",
    ), width="100%")


def change_row(change: InputChange) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(change.subject, weight="medium"), rx.text(change.section, **HINT)),
        rx.table.cell(rx.text(change.what, title=change.title), rx.cond(change.title != "", rx.text(change.title,
                                                                                                      **HINT))),
        rx.table.cell(change.first),
        rx.table.cell(change.second),
        class_name="input-change", custom_attrs={"data-text": change.text},
    )


def delta_row(row: DeltaRow, costs: bool = False) -> rx.Component:
    # A cost that rises reads red, one that falls green; a capacity change is neither good nor bad.
    tone = rx.cond(row.up, rx.color("crimson", 11), rx.color("grass", 11)) if costs else rx.color("gray", 12)
    return rx.table.row(
        rx.table.cell(rx.text(row.tech, weight="medium"),
                      rx.cond(row.node != "", rx.text(row.node, " · ", row.group, **HINT))),
        rx.table.cell(row.first, text_align="right"),
        rx.table.cell(row.second, text_align="right"),
        rx.table.cell(rx.text(row.delta, color=tone, weight="medium"), text_align="right"),
        class_name="result-delta",
    )


def header_row(*names: str) -> rx.Component:
    return rx.table.header(rx.table.row(*[rx.table.column_header_cell(n, text_align="left" if i == 0 else "right")
                                          for i, n in enumerate(names)]))


def delta_table(rows, id: str, first_header: str = "Technology at location", costs: bool = False) -> rx.Component:
    return rx.table.root(header_row(first_header, "First", "Second", "Change"),
                         rx.table.body(rx.foreach(rows, lambda row: delta_row(row, costs))), size="1", width="100%",
                         id=id)


def inputs_section() -> rx.Component:
    return section(
        "What differed in the inputs",
        rx.cond(CompareState.inputs_note != "", rx.callout(CompareState.inputs_note, icon="info", size="1",
                                                            color_scheme="amber", width="100%")),
        rx.cond(
            CompareState.inputs.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(n) for n in
                                               ("Where", "What", "First", "Second")])),
                rx.table.body(rx.foreach(CompareState.inputs, change_row)), size="1", width="100%", id="input-changes"),
            rx.text("The two runs read the same inputs.", size="2", id="no-input-changes"),
        ),
        icon="file-diff",
    )


def results_section() -> rx.Component:
    return section(
        "What changed in the results",
        rx.heading("Capacity", size="3", as_="h3"),
        rx.cond(CompareState.capacity.length() > 0, delta_table(CompareState.capacity, "capacity-changes"),
                rx.text("Both runs built the same capacity.", size="2")),
        rx.text(CompareState.capacity_same, " capacities are the same in both runs.", **HINT),
        rx.heading("Costs and emissions", size="3", as_="h3"),
        delta_table(CompareState.cost_totals, "cost-totals", "Total per cost class", costs=True),
        rx.cond(CompareState.costs.length() > 0, delta_table(CompareState.costs, "cost-changes", costs=True)),
        rx.text(CompareState.costs_same, " costs per technology and location are the same in both runs.", **HINT),
        icon="chart-column",
    )


def objective_card() -> rx.Component:
    def fact(label: str, value) -> rx.Component:
        return rx.vstack(rx.text(label, **HINT), rx.text(value, size="4", weight="bold"), spacing="0",
                         min_width="9em")

    return rx.foreach(CompareState.objective, lambda row: rx.card(rx.hstack(
        rx.heading("Objective (total cost)", size="4", as_="h2"), rx.spacer(),
        fact("First run", row.first), fact("Second run", row.second), fact("Change", row.delta),
        align="center", wrap="wrap", spacing="5", width="100%"), width="100%", id="objective"))


def comparison() -> rx.Component:
    return rx.vstack(
        rx.heading(CompareState.title, size="5", as_="h2"),
        objective_card(),
        rx.grid(inputs_section(), results_section(),
                grid_template_columns=rx.breakpoints(initial="minmax(0, 1fr)", md="minmax(0, 1fr) minmax(0, 1fr)"),
                spacing="4", width="100%"),
        section("Plots of both runs",
                rx.plotly(data=CompareState.capacity_plot, id="capacity-compare-plot", config=PLOT_CONFIG,
                          width="100%"),
                rx.text("Flow capacity summed over locations; demand and transmission lines are not shown. "
                        "The second run's bars are hatched.", **HINT),
                rx.plotly(data=CompareState.cost_plot, id="cost-compare-plot", config=PLOT_CONFIG, width="100%"),
                icon="chart-no-axes-column"),
        spacing="4", width="100%",
    )


def content() -> rx.Component:
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), "Back to ", CompareState.model_name, align="center",
                          spacing="1"),
                href="/models/" + CompareState.compare_model_id.to_string() + "/runs", size="2", id="back-to-model"),
        rx.heading("Compare runs", size="7", as_="h1"),
        rx.text("Pick two runs of ", CompareState.model_name, ": what differed in their inputs is listed beside "
                "what changed in their results.", color=rx.color("gray", 11)),
        rx.cond(
            CompareState.choices.length() < 2,
            rx.card(empty_state("git-compare", "Nothing to compare yet",
                                "Run the model twice (e.g. with a changed parameter) to compare the runs."),
                    width="100%", id="compare-empty"),
            rx.vstack(
                chooser(),
                rx.cond(CompareState.compare_error != "",
                        error_callout(CompareState.compare_error, id="compare-error")),
                rx.cond(CompareState.compared, comparison()),
                spacing="4", width="100%",
            ),
        ),
        spacing="4", width="100%",
    )


@app_page("/models/[model_id]/compare", "Compare runs", on_load=[CompareState.load], open_to_visitors=True)
def compare_page() -> rx.Component:
    return rx.cond(
        CompareState.loaded,
        rx.cond(CompareState.error != "",
                rx.vstack(rx.heading("Compare runs", size="7", as_="h1"), error_callout(CompareState.error,
                                                                                        id="compare-page-error"),
                          rx.link("Back to My models", href="/models"), spacing="3", width="100%"),
                content()),
        loading("Comparing…"),
    )
