"""`/runs/[run_id]`: what a run built and how it ran the system, plus the NetCDF download."""

import reflex as rx

from engage_reflex.components.feedback import empty_state, error_callout, swatch
from engage_reflex.components.layout import app_page, loading, section
from engage_reflex.state.results import ALL_NODES, CostRow, Fact, ResultsState

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}


def fact(item: Fact) -> rx.Component:
    return rx.vstack(rx.text(item.label, size="1", color=rx.color("gray", 10)),
                     rx.text(item.value, size="3", weight="medium"), spacing="0", min_width="140px")


def cost_row(row: CostRow) -> rx.Component:
    weight = rx.cond(row.is_total, "bold", "regular")
    return rx.table.row(
        rx.table.cell(rx.hstack(rx.cond(row.is_total, rx.box(width="14px"), swatch(row.color)),
                                rx.text(row.name, weight=weight), align="center", spacing="2")),
        rx.table.cell(rx.text(row.value, weight=weight), text_align="right"),
    )


def header() -> rx.Component:
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), "Back to ", ResultsState.model_name, align="center",
                          spacing="1"),
                href="/models/" + ResultsState.results_model_id.to_string(), size="2"),
        rx.hstack(
            rx.heading("Results of ", ResultsState.title, size="7"),
            rx.spacer(),
            rx.cond(ResultsState.has_inputs,
                    rx.button(rx.icon("file-archive", size=16), "Download inputs (zip)",
                              on_click=ResultsState.download("inputs"), variant="soft", size="2",
                              id="download-inputs",
                              title="model.yaml with its data tables: `calliope run model/model.yaml` runs it")),
            rx.button(rx.icon("download", size=16), "Download NetCDF", on_click=ResultsState.download("netcdf"),
                      variant="soft", size="2", id="download-netcdf"),
            align="center", width="100%", wrap="wrap",
        ),
        rx.text(ResultsState.model_name, color=rx.color("gray", 11)),
        spacing="2", width="100%",
    )


def controls() -> rx.Component:
    return rx.hstack(
        rx.hstack(rx.text("Carrier", size="2", weight="medium"),
                  rx.select(ResultsState.carriers, value=ResultsState.carrier, on_change=ResultsState.set_carrier,
                            id="carrier-select"),
                  align="center", spacing="2"),
        rx.hstack(rx.text("Dispatch at", size="2", weight="medium"),
                  rx.select.root(
                      rx.select.trigger(id="node-select"),
                      rx.select.content(rx.select.item("All nodes", value=ALL_NODES),
                                        rx.foreach(ResultsState.nodes, lambda n: rx.select.item(n, value=n))),
                      value=ResultsState.node, on_change=ResultsState.set_node),
                  align="center", spacing="2"),
        rx.hstack(rx.text("Capacity bars", size="2", weight="medium"),
                  rx.segmented_control.root(
                      rx.segmented_control.item("Stacked", value="stacked"),
                      rx.segmented_control.item("Side by side", value="grouped"),
                      value=rx.cond(ResultsState.stacked, "stacked", "grouped"),
                      on_change=ResultsState.set_stacked, size="1"),
                  align="center", spacing="2"),
        spacing="6", wrap="wrap", align="center",
    )


def content() -> rx.Component:
    return rx.vstack(
        header(),
        section("Summary", rx.flex(rx.foreach(ResultsState.facts, fact), wrap="wrap", spacing="5"),
                icon="info"),
        rx.cond(ResultsState.error != "", error_callout(ResultsState.error)),
        rx.card(controls(), width="100%", size="1"),
        rx.grid(
            section("Capacity", rx.plotly(data=ResultsState.capacity_plot, id="capacity-plot", config=PLOT_CONFIG,
                                          width="100%"),
                    rx.text("Built capacity per node; demand and transmission lines are not shown.", size="1",
                            color=rx.color("gray", 10)),
                    icon="factory"),
            section("Costs by technology",
                    rx.cond(ResultsState.costs.length() > 0,
                            rx.table.root(rx.table.body(rx.foreach(ResultsState.costs, cost_row)), size="1",
                                          width="100%"),
                            rx.text("No costs in this run.", size="2", color=rx.color("gray", 10))),
                    icon="coins"),
            grid_template_columns=rx.breakpoints(initial="minmax(0, 1fr)", md="minmax(0, 2fr) minmax(240px, 1fr)"),
            spacing="4", width="100%",
        ),
        section("Dispatch", rx.plotly(data=ResultsState.dispatch_plot, id="dispatch-plot", config=PLOT_CONFIG,
                                      width="100%"),
                rx.text(rx.cond(ResultsState.dispatch_note != "", ResultsState.dispatch_note + " ", ""),
                        "Above zero: what each technology produced. Below zero: what was consumed "
                        "(demand, charging storage, transmission losses).", size="1", color=rx.color("gray", 10)),
                icon="chart-area"),
        spacing="4", width="100%",
    )


@app_page("/runs/[run_id]", "Results", on_load=[ResultsState.load])
def results_page() -> rx.Component:
    return rx.cond(
        ResultsState.loaded,
        rx.cond(
            ResultsState.title != "",
            content(),
            rx.vstack(
                error_callout(ResultsState.error, id="results-error"),
                rx.card(empty_state("chart-no-axes-column", "No results to show",
                                    "Open the model, check the run's message, and start the run again if needed.",
                                    rx.link("Back to My models", href="/models")), width="100%"),
                spacing="3", width="100%",
            ),
        ),
        loading("Reading the results…"),
    )
