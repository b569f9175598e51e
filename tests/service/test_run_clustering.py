"""Time clustering: a run's days grouped into representative days (tsam), solved by Calliope."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlmodel import select

from engage_reflex.models import EnergyModel, Scenario
from engage_reflex.services import clustering
from engage_reflex.services.calliope_io import export_scenario
from engage_reflex.services.errors import EngageError

HOURS = pd.date_range("2005-01-01", periods=24 * 10, freq="h")


@pytest.fixture
def national(session, monkeypatch):
    from engage_reflex.services import samples

    monkeypatch.setattr(samples, "SAMPLE_EXAMPLES", ("national_scale",))
    samples.seed_samples(session=session)
    session.commit()
    model = session.exec(select(EnergyModel).where(EnergyModel.name.contains("National"))).first()
    return session.exec(select(Scenario).where(Scenario.model_id == model.id).order_by(Scenario.id)).first()


def _frames(days_a: int = 5, days_b: int = 5) -> dict[str, pd.DataFrame]:
    """Two kinds of day: flat low demand, then a high evening peak."""
    low = [1.0] * 24
    peak = [1.0] * 18 + [9.0] * 6
    values = low * days_a + peak * days_b
    frame = pd.DataFrame({"demand": values}, index=pd.DatetimeIndex(HOURS[:len(values)], name="timesteps"))
    return {"timeseries_node_inputs": frame}


def test_similar_days_share_a_representative_that_is_a_real_day_of_their_kind():
    clusters = clustering.representative_days(_frames(), days=2)
    assert list(clusters.index) == [f"2005-01-{d:02d}" for d in range(1, 11)]
    low, peak = set(clusters["cluster"][:5]), set(clusters["cluster"][5:])
    assert len(low) == 1 and len(peak) == 1 and low != peak
    assert low.pop() <= "2005-01-05" and peak.pop() >= "2005-01-06"


def test_only_the_runs_whole_days_are_clustered():
    period = clustering.period_bounds(["2005-01-03", "2005-01-08"])
    clusters = clustering.representative_days(_frames(), days=2, period=period)
    assert list(clusters.index) == [f"2005-01-{d:02d}" for d in range(3, 9)]
    assert set(clusters["cluster"]) <= set(clusters.index)


@pytest.mark.parametrize(("days", "words"), [
    (10, "The run has 10 days, so 10 representative days would cluster nothing"),
    (12, "Choose fewer than 10 days"),
])
def test_as_many_representative_days_as_the_run_has_is_refused(days, words):
    with pytest.raises(EngageError, match=words):
        clustering.representative_days(_frames(), days=days)
    with pytest.raises(EngageError, match=words):  # the form says so before the run is queued
        clustering.check_cluster_days(str(days), run_days=10)


def test_a_model_without_timeseries_cannot_be_clustered():
    with pytest.raises(EngageError, match="this model has none"):
        clustering.representative_days({}, days=2)


@pytest.mark.parametrize(("value", "expected"), [("", None), (None, None), (" 4 ", 4), ("12", 12)])
def test_the_form_value_is_read_as_a_number_of_days(value, expected):
    assert clustering.check_cluster_days(value) == expected


@pytest.mark.parametrize(("value", "words"), [("four", "whole number"), ("2.5", "whole number"),
                                              ("0", "between 1 and 366"), ("400", "between 1 and 366")])
def test_bad_form_values_are_refused_in_words(value, words):
    with pytest.raises(EngageError, match=words):
        clustering.check_cluster_days(value)


def test_a_clustered_export_solves_with_calliope_on_the_representative_days_only(session, national, tmp_path):
    """The export carries the clusters as Calliope's time_cluster lookup (with inter-cluster
    storage), and Calliope solves 14 January days as 3 representative days weighted back to 14."""
    from jobs import calliope_runner

    definition = export_scenario(session=session, scenario_id=national.id, subset=("2005-01-01", "2005-01-14"),
                                 cluster_days=3)
    assert definition.definition["config"]["init"]["time_cluster"] == clustering.CLUSTER_PARAM
    assert clustering.INTER_CLUSTER_MATH in definition.definition["config"]["init"]["extra_math"]
    assert len(definition.dataframes[clustering.CLUSTER_PARAM]) == 14
    outcome = calliope_runner.run(definition, tmp_path / "run")
    assert outcome.ok, outcome.message
    import calliope

    model = calliope.read_netcdf(outcome.results_dir / "model.nc")
    stamps = pd.DatetimeIndex(model.inputs.timesteps.values)
    assert stamps.normalize().nunique() == 3 and len(stamps) == 3 * 24
    assert int(model.inputs.timestep_weights.sum()) == 14 * 24
    # Same inputs, same days: clustering is deterministic, so the run's input hash is stable.
    again = export_scenario(session=session, scenario_id=national.id, subset=("2005-01-01", "2005-01-14"),
                            cluster_days=3)
    assert again.input_hash() == definition.input_hash()
