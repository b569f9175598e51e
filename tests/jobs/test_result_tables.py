"""The tables jobs/result_tables.py writes next to model.nc, on a real tiny solve (HiGHS):
storage level, the link with its direction and net flow, capacity factors, levelised costs of
every cost class (money and CO2) and the locations' coordinates."""

from __future__ import annotations

import pandas as pd
import pytest

from jobs import calliope_runner, result_tables
from tests.jobs.test_calliope_runner import tiny_model

pytestmark = pytest.mark.slow


def test_result_tables_of_a_tiny_solve(tmp_path):
    model = tiny_model()
    model.definition["nodes"]["A"].update(latitude=52.5, longitude=13.4)
    model.definition["nodes"]["B"].update(latitude=48.1, longitude=11.6)
    model.definition["techs"]["pv"]["cost_flow_out"] = {"data": 0.02, "index": "co2", "dims": "costs"}
    outcome = calliope_runner.run(model, tmp_path, solver="highs")
    assert outcome.ok, outcome.message
    folder = outcome.results_dir

    def table(kind: str) -> pd.DataFrame:
        frame = pd.read_csv(folder / result_tables.TABLE_FILES[kind], keep_default_na=False)
        assert list(frame.columns) == result_tables.COLUMNS[kind]
        return frame

    flows = pd.read_csv(folder / "flows.csv")
    capacity = pd.read_csv(folder / "capacity.csv", keep_default_na=False)

    links = table("links")
    assert links[["tech", "from_node", "to_node", "carrier"]].values.tolist() == [["a_to_b", "A", "B", "power"]]
    arrived_at_b = flows.query("tech == 'a_to_b' and node == 'B' and direction == 'out'")["value"].sum()
    assert links["sent"].iloc[0] == pytest.approx(arrived_at_b) and arrived_at_b > 0  # B has no generation
    assert links["capacity"].iloc[0] == pytest.approx(
        capacity.query("tech == 'a_to_b' and variable == 'flow_cap'")["value"].max())

    storage = table("storage")
    assert set(zip(storage["node"], storage["tech"])) == {("B", "battery")} and len(storage) == 48
    cap = capacity.query("variable == 'storage_cap' and tech == 'battery'")["value"].iloc[0]
    assert storage["value"].between(0, cap * (1 + 1e-6)).all() and storage["value"].max() > 0

    factors = table("capacity_factors")
    pv = factors.query("tech == 'pv'").set_index("node")["value"]
    assert 0 < pv["A"] < 1 and pv["A"] == pytest.approx(pv[""])  # at A, and Calliope's systemwide value

    levelised = table("levelised_costs")
    assert set(levelised["cost_class"]) == {"monetary", "co2"}
    co2 = levelised.query("tech == 'pv' and cost_class == 'co2'")["value"].iloc[0]
    assert co2 == pytest.approx(0.02)  # per unit generated, all of it from pv
    assert levelised.query("tech == '' and carrier == 'power' and cost_class == 'monetary'")["value"].iloc[0] > 0

    nodes = table("nodes").set_index("node")
    assert nodes.loc["A", "latitude"] == 52.5 and nodes.loc["B", "longitude"] == 11.6
