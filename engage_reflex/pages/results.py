"""`/runs/[run_id]`: what a run built and how it ran the system, with filters, a map and downloads."""

import plotly.graph_objects as go
import reflex as rx

from engage_reflex.components.feedback import empty_state, error_callout, swatch
from engage_reflex.components.layout import app_page, loading, section
from engage_reflex.state.result_filters import PERIODS, ResultFiguresState
from engage_reflex.state.results import ALL_NODES, ALL_TECHS, CostRow, Fact, ResultsState, TechChoice

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}
S = ResultFiguresState


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


def _download(label: str, icon: str, name: str, **props) -> rx.Component:
    return rx.button(rx.icon(icon, size=16), label, on_click=ResultsState.download(name), variant="soft", size="2",
                     id=f"download-{name}", **props)


def header() -> rx.Component:
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), "Back to ", ResultsState.model_name, align="center",
                          spacing="1"),
                href="/models/" + ResultsState.results_model_id.to_string(), size="2"),
        rx.hstack(
            rx.heading("Results of ", ResultsState.title, size="7"),
            rx.spacer(),
            rx.cond(ResultsState.has_inputs,
                    _download("Download inputs (zip)", "file-archive", "inputs",
                              title="model.yaml with its data tables: `calliope run model/model.yaml` runs it")),
            rx.cond(ResultsState.has_outputs,
                    _download("Download outputs (CSV zip)", "file-spreadsheet", "outputs",
                              title="One CSV per result variable, with a README of columns and units")),
            _download("Download NetCDF", "download", "netcdf"),
            align="center", width="100%", wrap="wrap",
        ),
        rx.text(ResultsState.model_name, color=rx.color("gray", 11)),
        spacing="2", width="100%",
    )


def labelled(label: str, control_id: str, control: rx.Component) -> rx.Component:
    return rx.hstack(rx.el.label(label, html_for=control_id, style={"fontSize": "14px", "fontWeight": 500}),
                     control, align="center", spacing="2")


def _select(items, value, on_change, control_id: str, label: str, first: tuple[str, str] | None = None):
    head = [rx.select.item(first[1], value=first[0])] if first else []
    return labelled(label, control_id, rx.select.root(
        rx.select.trigger(id=control_id, aria_label=label),
        rx.select.content(*head, items), value=value, on_change=on_change, size="2"))


def _tech_item(choice: TechChoice) -> rx.Component:
    return rx.select.item(choice.label, value=choice.value)


def _date(label: str, control_id: str, value, on_change) -> rx.Component:
    return labelled(label, control_id, rx.input(type="date", id=control_id, value=value, on_change=on_change,
                                                min=ResultsState.first_day, max=ResultsState.last_day, size="2"))


def controls() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _select(rx.foreach(ResultsState.carriers, lambda c: rx.select.item(c, value=c)), S.carrier,
                    S.set_carrier, "carrier-select", "Carrier"),
            _select(rx.foreach(ResultsState.nodes, lambda n: rx.select.item(n, value=n)), S.node, S.set_node,
                    "node-select", "Location", first=(ALL_NODES, "All locations")),
            _select(rx.foreach(ResultsState.tech_choices, _tech_item), S.tech, S.set_tech, "tech-select",
                    "Technology", first=(ALL_TECHS, "All technologies")),
            _select(rx.foreach(ResultsState.cost_classes, lambda c: rx.select.item(c, value=c)), S.cost_class,
                    S.set_cost_class, "cost-class-select", "Cost class"),
            spacing="5", wrap="wrap", align="center",
        ),
        rx.hstack(
            _select([rx.select.item(label, value=value) for value, label in PERIODS.items()], S.period,
                    S.set_period, "period-select", "Period"),
            rx.cond(S.period != "all", _date("From", "period-start", S.start, S.set_start)),
            rx.cond(S.period == "custom", _date("To", "period-end", S.end, S.set_end)),
            labelled("Capacity bars", "bars-control", rx.segmented_control.root(
                rx.segmented_control.item("Stacked", value="stacked"),
                rx.segmented_control.item("Side by side", value="grouped"),
                value=rx.cond(S.stacked, "stacked", "grouped"), on_change=S.set_stacked, size="1",
                id="bars-control")),
            spacing="5", wrap="wrap", align="center",
        ),
        rx.cond(S.period_error != "", error_callout(S.period_error, id="period-error")),
        rx.text("Carrier, location and technology apply to every figure they can; the period re-slices the "
                "dispatch and storage level.", size="1", color=rx.color("gray", 10)),
        spacing="3", width="100%",
    )


def figure(title: str, plot_id: str, data, what: str, icon: str, note=None, stage: int = 2,
           **events) -> rx.Component:
    """A section with one plotly figure (once the load has reached its `stage`) and a line saying
    what it shows."""
    shows = rx.text(rx.cond(note != "", note + " ", "") if note is not None else "", what, size="1",
                    color=rx.color("gray", 10))
    plot = rx.cond(S.stage >= stage, rx.plotly.basic(data=data, id=plot_id, config=PLOT_CONFIG, width="100%",
                                                  **events),
                   rx.center(rx.spinner(size="3"), height="300px", width="100%"))
    return section(title, plot, shows, icon=icon)


def content() -> rx.Component:
    return rx.vstack(
        header(),
        section("Summary", rx.flex(rx.foreach(ResultsState.facts, fact), wrap="wrap", spacing="5"), icon="info"),
        rx.cond(ResultsState.error != "", error_callout(ResultsState.error)),
        rx.card(controls(), width="100%", size="1"),
        figures(),
        spacing="4", width="100%",
    )


def figures() -> rx.Component:
    pair = rx.breakpoints(initial="minmax(0, 1fr)", md="minmax(0, 1fr) minmax(0, 1fr)")
    return rx.vstack(
        figure("Results map", "results-map", S.map_plot,
               "Each location's pie is what was built there (area grows with the total capacity); lines are "
               "links, thicker for more capacity, the arrow points the way energy flowed on balance.", "map"),
        rx.grid(
            figure("Capacity", "capacity-plot", S.capacity_plot,
                   "Power capacity built per location and technology; demand and transmission lines are not shown.",
                   "factory", stage=1, on_after_plot=S.draw_rest),
            section("Costs by technology",
                    rx.cond(ResultsState.costs.length() > 0,
                            rx.table.root(rx.table.body(rx.foreach(ResultsState.costs, cost_row)), size="1",
                                          width="100%"),
                            rx.text("No costs in this run.", size="2", color=rx.color("gray", 10))),
                    icon="coins"),
            grid_template_columns=rx.breakpoints(initial="minmax(0, 1fr)", md="minmax(0, 2fr) minmax(240px, 1fr)"),
            spacing="4", width="100%",
        ),
        figure("Dispatch", "dispatch-plot", S.dispatch_plot,
               "Above zero: what each technology produced, stacked; the dotted line is demand. Below zero: what "
               "was consumed besides demand (charging storage, transmission losses).", "chart-area", S.dispatch_note,
               stage=3),
        rx.grid(
            figure("Storage capacity", "storage-capacity-plot", S.storage_capacity_plot,
                   "How much energy each storage technology can hold, per location.", "battery"),
            figure("Storage level", "storage-plot", S.storage_plot,
                   "How full each storage technology was over the period (summed over the locations shown).",
                   "battery-charging", S.storage_note, stage=3),
            grid_template_columns=pair, spacing="4", width="100%",
        ),
        figure("Costs and emissions", "costs-plot", S.costs_plot,
               "The chosen cost class (money, or emissions such as CO2) per location and technology, over the run.",
               "coins"),
        rx.grid(
            figure("Levelised cost", "levelised-plot", S.levelised_plot,
                   "Calliope's levelised cost: each technology's cost per unit of the carrier it generated; the "
                   "dashed line is the carrier's average over all technologies.", "scale"),
            figure("Capacity factors", "capacity-factor-plot", S.capacity_factors_plot,
                   "How much of the time each technology ran at full capacity, on average over the run.", "gauge"),
            grid_template_columns=pair, spacing="4", width="100%",
        ),
        spacing="4", width="100%",
    )


# Open to visitors (a public model's runs). No separate guard event: the load itself finds out who
# is asking (one database read less before the first figure) and sends a visitor to log in when the
# run is not public.
@app_page("/runs/[run_id]", "Results", on_load=[ResultFiguresState.load], login_required=False)
def results_page() -> rx.Component:
    return rx.fragment(
        # plotly.js is a big script loaded on a figure's first showing: an empty hidden figure
        # makes the browser fetch and parse it while the server still reads the results. The
        # figures use only scatter, bar and pie: plotly's "basic" bundle, a quarter of the full one.
        rx.box(rx.plotly.basic(data=go.Figure(), config={"staticPlot": True}), display="none", aria_hidden="true"),
        _page_body(),
    )


def _page_body() -> rx.Component:
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
