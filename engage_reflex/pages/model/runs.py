"""`/models/[model_id]/runs`: the Run form (with the pre-run check and the timeseries coverage) and the live
list of runs."""

import reflex as rx

from engage_reflex.components.editor import editor_page
from engage_reflex.state.auth import AuthState
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.components.feedback import empty_state, error_callout, status_badge
from engage_reflex.components.layout import loading, section
from engage_reflex.components.run_log import run_log_button, run_log_dialog
from engage_reflex.components.check_panel import finding_item
from engage_reflex.state.model.run_check import RunCheckState
from engage_reflex.state.model.run_estimate import RunEstimateState
from engage_reflex.state.model.runs import NO_RESAMPLING, RunFormState
from engage_reflex.state.runs import RunRow, RunsState

SOLVERS = [
    ("highs", "HiGHS (recommended)", "Built in and reliable: the right choice for most runs."),
    ("cbc", "CBC", "Often faster for long hourly runs, such as a whole year at hourly resolution."),
    ("glpk", "GLPK", "Slow on anything but small runs; useful to cross-check a result."),
]
RESAMPLING = [
    (NO_RESAMPLING, "As the data (or the scenario's own)"),
    ("3h", "Every 3 hours"),
    ("6h", "Every 6 hours"),
    ("1D", "Daily"),
]


def _estimated(handler) -> list:
    """A form field's change, then the run's size estimate again."""
    return [handler, RunEstimateState.refresh]


def _advised(handler) -> list:
    """A change of scenario or dates, then the check, the coverage and the estimate again."""
    return [handler, RunCheckState.check, RunEstimateState.refresh]


def labelled(label: str, control: rx.Component, hint: rx.Component | str = "", html_for: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium", as_="span"), html_for=html_for) if html_for
        else rx.text(label, size="2", weight="medium"),
        control,
        rx.text(hint, size="1", color=rx.color("gray", 10)) if isinstance(hint, rx.Var) or hint else rx.fragment(),
        spacing="1", width="100%",
    )


def choice(options: list[tuple[str, str]], value, on_change, id: str, label: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="100%", id=id, custom_attrs={"aria-label": label}),
        rx.select.content(*[rx.select.item(label, value=key) for key, label in options]),
        value=value, on_change=on_change, size="2",
    )


def run_form() -> rx.Component:
    solver_hint = rx.match(RunFormState.solver, *[(key, hint) for key, _, hint in SOLVERS], "")
    return section(
        "Run a scenario",
        rx.grid(
            labelled("Scenario", rx.select(RunFormState.scenario_names, value=RunFormState.scenario,
                                           on_change=_advised(RunFormState.set_scenario), width="100%", id="run-scenario",
                                           custom_attrs={"aria-label": "Scenario"}),
                     html_for="run-scenario"),
            labelled("Solver", choice([(k, label) for k, label, _ in SOLVERS], RunFormState.solver,
                                      _estimated(RunFormState.set_solver), "run-solver", "Solver"), solver_hint,
                     html_for="run-solver"),
            labelled("Start date", rx.input(type="date", value=RunFormState.start, min=RunFormState.time_start,
                                            max=RunFormState.time_end, on_change=_advised(RunFormState.set_start),
                                            id="run-start", width="100%", debounce_timeout=0,
                                            aria_label="Start date"),
                     html_for="run-start"),
            labelled("End date (included)", rx.input(type="date", value=RunFormState.end, min=RunFormState.start,
                                                     max=RunFormState.time_end, on_change=_advised(RunFormState.set_end),
                                                     id="run-end", width="100%", debounce_timeout=0,
                                                     aria_label="End date (included)"),
                     html_for="run-end"),
            labelled("Time steps", choice(RESAMPLING, RunFormState.resample,
                                          _estimated(RunFormState.set_resample), "run-resample",
                                          "Time steps"),
                     "Longer steps solve faster but smooth out peaks.", html_for="run-resample"),
            labelled("Representative days (optional)",
                     rx.input(type="number", min=1, step=1, value=RunFormState.cluster_days, id="run-cluster-days",
                              on_change=_estimated(RunFormState.set_cluster_days),
                              debounce_timeout=300, placeholder="Every day", width="100%",
                              aria_label="Representative days (optional)"),
                     "Solve only this many typical days, picked from the period by similarity of all "
                     "timeseries (tsam), each weighted by the days it stands for. Much faster for long "
                     "periods; results are an approximation. Empty: every day.", html_for="run-cluster-days"),
            columns=rx.breakpoints(initial="1", sm="2"), spacing="4", width="100%",
        ),
        labelled("Notes (optional)", rx.text_area(value=RunFormState.notes, on_change=RunFormState.set_notes,
                                                  id="run-notes", rows="2", width="100%", debounce_timeout=300,
                                                  placeholder="Why this run, e.g. “cheaper batteries”"),
                 "Shown with the run in the list below.", html_for="run-notes"),
        estimate_line(),
        model_check_panel(),
        coverage_panel(),
        rx.hstack(
            rx.text(rx.cond(RunFormState.time_start != "",
                            "The model has data from " + RunFormState.time_start + " to " + RunFormState.time_end + ". ",
                            ""),
                    "A few days solve in seconds; a whole year hour by hour can take many minutes.",
                    size="1", color=rx.color("gray", 10)),
            rx.spacer(),
            rx.button(rx.icon("play", size=16), "Run", on_click=RunFormState.start_run, loading=RunFormState.starting,
                      disabled=RunFormState.scenario_names.length() == 0, size="3", id="run-button"),
            align="end", width="100%", spacing="4",
        ),
        icon="play",
    )


def estimate_line() -> rx.Component:
    """How big the run will be and how long it should take (from past runs), before Run is pressed."""
    return rx.cond(
        RunEstimateState.estimate != "",
        rx.hstack(rx.icon(rx.cond(RunEstimateState.estimate_problem, "triangle-alert", "gauge"), size=16,
                          color=rx.cond(RunEstimateState.estimate_problem, rx.color("amber", 11),
                                        rx.color("gray", 11))),
                  rx.text(rx.text("Run size: ", weight="medium", as_="span"), RunEstimateState.estimate, size="2",
                          id="run-estimate"),
                  align="center", spacing="2", custom_attrs={"role": "status", "aria-live": "polite"}),
    )


def model_check_panel() -> rx.Component:
    """What the pre-run check says about the chosen scenario and dates (advice: Run still works)."""
    findings = rx.vstack(rx.foreach(RunCheckState.findings, finding_item), spacing="2", width="100%",
                         custom_attrs={"role": "list"})
    advice = rx.text("These are advice: you can still press Run, but the results may mean little "
                     "until the warnings are dealt with.", size="1", color=rx.color("gray", 11))
    report = rx.cond(
        RunCheckState.check_error != "",
        rx.callout("The model check could not run: " + RunCheckState.check_error + " You can still run.",
                   icon="circle-help", color_scheme="gray", size="1", width="100%"),
        rx.cond(
            RunCheckState.findings.length() > 0,
            rx.callout.root(
                rx.callout.icon(rx.cond(RunCheckState.check_warnings > 0, rx.icon("triangle-alert"), rx.icon("info"))),
                rx.vstack(rx.text(RunCheckState.check_title, weight="bold", size="2", id="model-check-title"),
                          findings, rx.cond(RunCheckState.check_warnings > 0, advice), spacing="2", width="100%"),
                color_scheme=rx.cond(RunCheckState.check_warnings > 0, "amber", "blue"), size="1", width="100%",
            ),
            rx.hstack(rx.icon("circle-check", size=16, color=rx.color("green", 11)),
                      rx.text("Model check: nothing found that would make this run's results meaningless.",
                              size="1", color=rx.color("gray", 11)),
                      align="center", spacing="2"),
        ),
    )
    return rx.box(
        rx.cond(
            RunCheckState.checking,
            rx.hstack(rx.spinner(size="1"), rx.text("Checking the scenario…", size="1", color=rx.color("gray", 11)),
                      align="center", spacing="2"),
            rx.cond(RunCheckState.check_done, report),
        ),
        id="model-check", width="100%",
        custom_attrs={"role": "status", "aria-live": "polite", "aria-busy": RunCheckState.checking.to_string()},
    )


def coverage_panel() -> rx.Component:
    """Each timeseries the scenario uses against the run period. Run stays, but start_run refuses a period
    that is not covered, so the refusal is shown here first, next to the Run button."""
    refusal = rx.callout.root(
        rx.callout.icon(rx.icon("calendar-x")),
        rx.vstack(rx.text("Run will refuse these dates", weight="bold", size="2"),
                  rx.text(RunCheckState.coverage_refusal, size="2", id="coverage-refusal"), spacing="1"),
        color_scheme="red", size="1", width="100%", custom_attrs={"role": "alert"},
    )
    covered = rx.hstack(rx.icon("circle-check", size=16, color=rx.color("green", 11)),
                        rx.text("Every timeseries the scenario uses has data for the whole run period.", size="1",
                                color=rx.color("gray", 11)),
                        align="center", spacing="2")
    chart = rx.plotly(data=RunCheckState.coverage_figure, config={"displayModeBar": False, "responsive": True},
                      width="100%", id="coverage-chart",
                      custom_attrs={"role": "img", "aria-label": "Timeline of the scenario's timeseries and the "
                                                                 "run period"})
    return rx.vstack(
        rx.heading("Timeseries coverage", size="3", as_="h3", id="coverage-heading"),
        rx.text("What this shows: a bar for each timeseries the chosen scenario uses, over the times it has data, "
                "and the run period as a shaded band. A red bar does not cover the whole run period: a run over "
                "those dates is refused.", size="1", color=rx.color("gray", 10)),
        rx.cond(
            RunCheckState.coverage_state == "",
            rx.hstack(rx.spinner(size="1"), rx.text("Checking the timeseries…", size="1", color=rx.color("gray", 11)),
                      align="center", spacing="2"),
            rx.vstack(
                rx.cond(RunCheckState.coverage_note != "", rx.fragment(
                    chart, rx.text(RunCheckState.coverage_note, size="1", color=rx.color("gray", 10),
                                   id="coverage-note"))),
                rx.match(RunCheckState.coverage_state, ("covered", covered), ("refused", refusal), rx.fragment()),
                spacing="2", width="100%",
            ),
        ),
        id="timeseries-coverage", width="100%", spacing="2",
        custom_attrs={"role": "region", "aria-labelledby": "coverage-heading", "aria-live": "polite"},
    )


def run_row(run: RunRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text("#", run.id, weight="medium")),
        rx.table.cell(rx.vstack(
            status_badge(run.status),
            rx.cond(run.out_of_date,
                    rx.tooltip(rx.badge(rx.icon("history", size=12), "Out of date", color_scheme="orange",
                                        variant="outline", size="1", class_name="run-out-of-date"),
                               content="The model changed after this run read it: its results show the older "
                                       "inputs.")),
            rx.cond(run.edits_since != "", rx.text(run.edits_since, size="1", color=rx.color("gray", 10),
                                                   class_name="run-edits-since")),
            rx.cond(run.reused_from > 0, rx.badge("Reused from #", run.reused_from, color_scheme="blue",
                                                  variant="outline", size="1", class_name="run-reused")),
            rx.cond(run.active, rx.progress(value=run.progress, max=100, width="110px", size="1",
                                            class_name="run-progress")),
            spacing="2",
        )),
        rx.table.cell(rx.vstack(rx.text(run.scenario, weight="medium"),
                                rx.text(run.span, " · ", run.solver, size="1", color=rx.color("gray", 10)),
                                rx.cond(run.notes != "", rx.text(run.notes, size="1", class_name="run-notes",
                                                                 max_width="260px")),
                                spacing="0")),
        rx.table.cell(rx.text(run.message, size="2", class_name="run-message"), max_width="320px"),
        rx.table.cell(rx.text(run.objective, size="2"), text_align="right"),
        rx.table.cell(rx.text(run.created, size="1", color=rx.color("gray", 10), white_space="nowrap")),
        rx.table.cell(rx.hstack(
            rx.cond(
                run.has_results,
                rx.link(rx.button(rx.icon("chart-column", size=14), "Results", size="1", variant="soft"),
                        href="/runs/" + run.id.to_string(), class_name="results-link"),
                rx.cond(run.active & (run.mine | ModelEditorState.can_edit),
                        rx.button("Cancel", size="1", variant="ghost", color_scheme="red",
                                  on_click=RunsState.cancel(run.id), class_name="cancel-run")),
            ),
            rx.cond((run.reused_from > 0) & ~run.active & (AuthState.user_email != ""),
                    rx.button("Solve again anyway", size="1", variant="ghost", on_click=RunsState.solve_again(run.id),
                              class_name="solve-again",
                              custom_attrs={"aria-label": "Solve run #" + run.id.to_string() + " again anyway"})),
            rx.cond(run.out_of_date & ~run.active & (AuthState.user_email != ""),
                    rx.button(rx.icon("refresh-cw", size=14), "Rerun with current inputs", size="1", variant="soft",
                              on_click=RunsState.rerun(run.id), class_name="rerun",
                              custom_attrs={"aria-label": "Rerun run #" + run.id.to_string() +
                                            " with current inputs"})),
            run_log_button(run.id),
            rx.cond(~run.active & (run.mine | ModelEditorState.can_edit),
                    rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="ghost", color_scheme="red",
                                   on_click=RunsState.ask_delete(run.id), class_name="delete-run",
                                   custom_attrs={"aria-label": "Delete run #" + run.id.to_string()})),
            align="center", spacing="3", justify="end",
        )),
        class_name="run-row", custom_attrs={"data-run-id": run.id, "data-status": run.status},
        align="center",
    )


def delete_run_dialog() -> rx.Component:
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title("Delete run #", RunsState.delete_id, "?"),
        rx.alert_dialog.description("Its results, log and downloads are deleted too. This cannot be undone.", size="2"),
        rx.hstack(rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                  rx.alert_dialog.action(rx.button("Delete run", color_scheme="red",
                                                   on_click=RunsState.confirm_delete)),
                  justify="end", spacing="3", padding_top="0.5em")),
        open=RunsState.delete_id > 0, on_open_change=RunsState.close_delete)


def runs_list() -> rx.Component:
    return section(
        "Your runs of this model",
        rx.cond(RunsState.can_compare, rx.hstack(
            rx.text("Why do two runs differ? Compare their inputs and results side by side.", size="2",
                    color=rx.color("gray", 11)),
            rx.link(rx.button(rx.icon("git-compare", size=14), "Compare runs", size="1", variant="soft"),
                    href="/models/" + RunsState.shown_model_id.to_string() + "/compare", id="compare-runs-link"),
            align="center", spacing="3", wrap="wrap")),
        rx.cond(
            RunsState.runs.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               ("Run", "Status", "Scenario", "Message", "Objective", "Started",
                                                "")])),
                rx.table.body(rx.foreach(RunsState.runs, run_row)),
                width="100%", size="1", id="runs-table",
            ),
            empty_state("list-checks", "No runs yet",
                        "Choose a scenario and dates above and press Run. The run shows up here and its "
                        "status updates by itself."),
        ),
        run_log_dialog(),
        delete_run_dialog(),
        icon="list-checks",
    )


def snapshot_runs_note() -> rx.Component:
    return rx.callout.root(rx.callout.icon(rx.icon("camera")), rx.callout.text(
        "The runs kept with this snapshot, with their results. A snapshot is not run again: run its model, or "
        "make a copy of the snapshot and run that."), color_scheme="gray", size="1", width="100%",
        id="snapshot-runs-note")


def visitor_note() -> rx.Component:
    return rx.callout.root(rx.callout.icon(rx.icon("log-in")), rx.callout.text(
        "These are the runs of this public model; open one to read its results. ", rx.link("Log in", href="/login"),
        " to run the model yourself."), color_scheme="gray", size="1", width="100%", id="visitor-runs-note")


@editor_page("runs", "Runs", on_load=[RunFormState.load, RunsState.load, RunCheckState.check,
                                             RunEstimateState.refresh])
def model_runs_page() -> rx.Component:
    return rx.cond(
        RunFormState.loaded,
        rx.cond(
            RunFormState.error != "",
            error_callout(RunFormState.error, id="runs-error"),
            rx.vstack(rx.cond(ModelEditorState.is_snapshot, snapshot_runs_note(),
                              rx.cond(AuthState.user_email != "", run_form(), visitor_note())),
                      runs_list(), spacing="4", width="100%", min_width="0"),
        ),
        loading("Loading the runs…"),
    )
