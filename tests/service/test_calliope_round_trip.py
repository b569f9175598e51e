"""Solving an exported model gives what solving the original files gives (HiGHS backend).

Each solve costs seconds, so these run on SQLite only; test_calliope_io.py checks that
import and export agree on both databases.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from engage_reflex.models import Scenario, User
from engage_reflex.services import calliope_io

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

EXAMPLES = Path(__import__("calliope").__file__).parent / "example_models"


def _solve(model) -> dict:
    """Objective and capacities of a model solved with the HiGHS backend."""
    model.build(backend="highs")
    model.solve(solver_options={"output_flag": False})
    assert model.runtime.termination_condition == "optimal"
    return _summary(model.results)


def _summary(results) -> dict:
    summary = {"objective": float(results.min_cost_optimisation)}
    for name in ("flow_cap", "storage_cap"):
        if name in results:
            summary[name] = results[name].to_series().dropna().sort_index()
    return summary


@functools.cache
def _solve_original(example: str, scenario: str | None = None) -> dict:
    import calliope

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _solve(calliope.read_yaml(EXAMPLES / example / "model.yaml", scenario=scenario))


def _assert_same_solution(expected: dict, actual: dict) -> None:
    assert actual["objective"] == pytest.approx(expected["objective"], rel=1e-6)
    assert expected.keys() == actual.keys()
    for name in expected.keys() - {"objective"}:
        assert list(expected[name].index) == list(actual[name].index), name
        assert np.allclose(expected[name].to_numpy(), actual[name].to_numpy(), rtol=1e-6, atol=1e-6), name


def _import_and_export(session: Session, example: str, scenario: str = "base",
                       **options) -> calliope_io.ModelDefinition:
    user = User(email="solver@example.org", password_hash="!")
    session.add(user)
    session.flush()
    report = calliope_io.import_model_directory(session=session, path=EXAMPLES / example,
                                                owner_id=user.id)
    scenario_id = session.exec(select(Scenario.id).where(
        Scenario.model_id == report.model_id, Scenario.name == scenario)).one()
    return calliope_io.export_scenario(session=session, scenario_id=scenario_id, **options)


def _solve_exported(md: calliope_io.ModelDefinition, folder: Path) -> dict:
    import calliope

    for rel, text in md.files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = calliope.read_dict(md.definition, data_table_dfs=md.dataframes, definition_path=folder)
    return _solve(model)


@pytest.mark.parametrize("example", ["national_scale", "urban_scale"])
def test_exported_base_solves_like_the_original(session, example, tmp_path):
    md = _import_and_export(session, example)
    _assert_same_solution(_solve_original(example), _solve_exported(md, tmp_path))


def test_exported_scenario_solves_like_the_original(session, tmp_path):
    # national_scale's `time_resampling`: January at 6-hour resolution.
    md = _import_and_export(session, "national_scale", "time_resampling")
    assert md.definition["config"]["init"]["resample"]["timesteps"] == "6h"
    expected = _solve_original("national_scale", "time_resampling")
    _assert_same_solution(expected, _solve_exported(md, tmp_path))


def test_calliope_run_accepts_the_written_directory(session, tmp_path):
    import calliope

    md = _import_and_export(session, "national_scale")
    model_yaml = md.write_directory(tmp_path / "exported")
    result = tmp_path / "result.nc"
    calliope_cli = Path(sys.executable).with_name("calliope")
    done = subprocess.run(
        [str(calliope_cli), "run", str(model_yaml), "--quiet", "--save_netcdf", str(result)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solved = calliope.read_netcdf(result)
    _assert_same_solution(_solve_original("national_scale"), _summary(solved.results))
