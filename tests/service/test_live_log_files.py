"""The live log read from a run directory's files as the worker writes them (its own logging
code, no solve): every planner's line once, in the order written, across reads at any point."""

from __future__ import annotations

import logging

from engage_reflex.services import run_logs
from jobs import calliope_runner

HIGHS_LINES = ["Presolving model", "  Iteration        Objective     Infeasibilities num(sum)",
               "          0     0.0000000000e+00 Pr: 1488(2.62304e+07) 0.1s", "Model status        : Optimal"]


def _read(directory, state):
    text, state["offset"], state["solver_offset"], restarted = run_logs.read_live_files(
        directory, state["offset"], state["solver_offset"])
    assert not restarted
    state["shown"] += text


def test_live_lines_once_each_in_order_across_the_highs_log_merge(tmp_path):
    calliope = logging.getLogger("calliope.backend.backend_model")
    highs = tmp_path / calliope_runner.HIGHS_LOG
    reader = {"offset": 0, "solver_offset": 0, "shown": ""}
    late = {"offset": 0, "solver_offset": 0, "shown": ""}  # opens the dialog after the merge
    with calliope_runner.capture_log(tmp_path / calliope_runner.RAW_LOG) as log:
        calliope.info("Model: backend build starting")
        calliope.debug("a detail\nover two lines")
        # CBC's and GLPK's output: calliope logs what pyomo reads from the solver at DEBUG, as it comes.
        logging.getLogger("calliope.backend.backend_model.<solve>").debug("Welcome to the CBC MILP Solver\nVersion: 2")
        _read(tmp_path, reader)
        calliope.debug("another detail whose second line comes")
        calliope.info("Optimisation model | starting model in base mode.")
        highs.write_text("\n".join(HIGHS_LINES[:2]) + "\n")
        _read(tmp_path, reader)
        with open(highs, "a") as fh:  # HiGHS goes on; one line is not finished yet
            fh.write(HIGHS_LINES[2] + "\n" + HIGHS_LINES[3][:5])
        _read(tmp_path, reader)
        with open(highs, "a") as fh:
            fh.write(HIGHS_LINES[3][5:] + "\n")
        calliope.warning("Model solution was non-optimal.")
        calliope.info("Backend: model solve completed.")
        calliope_runner._solver_lines(log, highs)  # the worker's merge: into run.log, highs.log deleted
    _read(tmp_path, reader)
    _read(tmp_path, late)

    expected = ["Model: backend build starting", "Welcome to the CBC MILP Solver", "Version: 2",
                "Optimisation model | starting model in base mode.",
                run_logs.SOLVER_LOG_HEADING, *HIGHS_LINES, "Warning: Model solution was non-optimal.",
                "Backend: model solve completed."]
    positions = [reader["shown"].find(line) for line in expected]
    assert -1 not in positions and positions == sorted(positions), reader["shown"]
    # A reader coming after the merge gets HiGHS's log where the full log has it: after Calliope's.
    for shown in (reader["shown"], late["shown"]):
        assert all(shown.count(line) == 1 for line in expected), shown
        assert "detail" not in shown and "over two lines" not in shown and "DEBUG" not in shown
    assert not highs.exists()
    raw = (tmp_path / calliope_runner.RAW_LOG).read_text()
    assert "over two lines" in raw and HIGHS_LINES[3] in raw  # the full log keeps everything


def test_a_long_log_is_clipped_with_a_note(tmp_path):
    (tmp_path / calliope_runner.RAW_LOG).write_text(
        "".join(f"12:00:00 INFO calliope.model: line {i:07d}\n" for i in range(20_000)))
    text, offset, _, _ = run_logs.read_live_files(tmp_path, 0, 0)
    assert text.startswith("[…") and "KB of the log left out" in text
    assert "line 0000000" not in text and text.endswith("line 0019999\n")
    assert offset == (tmp_path / calliope_runner.RAW_LOG).stat().st_size
    kept = run_logs.keep_tail("x\n" * 150_000, text)
    assert len(kept) <= run_logs.LIVE_MAX_BYTES + 100 and kept.endswith("line 0019999\n")
