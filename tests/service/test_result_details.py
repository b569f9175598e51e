"""The newer results figures' tables on a real national-scale solve: storage level, links with
their net flow, capacity factors, levelised costs, the map's coordinates, the period filter,
and runs solved before those tables existed."""

from __future__ import annotations

import pandas as pd
import pytest

from engage_reflex.schemas.results import RESULT_TABLES, SOLVED_BEFORE
from engage_reflex.services import result_details, results
from engage_reflex.settings import get_settings
from tests.service.test_results_filters import _store_run, solved_samples  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow


@pytest.fixture
def national(session, solved_samples):  # noqa: F811
    user_id, run_id = _store_run(session, solved_samples["national_scale"])
    return {"session": session, "user_id": user_id, "run_id": run_id}


def test_links_capacity_factors_levelised_costs_and_coordinates(national, solved_samples):  # noqa: F811
    details = result_details.load_details(**national)
    assert details.cost_classes == ["monetary"] and details.has_storage
    assert (details.first_day, details.last_day) == ("2005-01-01", "2005-01-02")
    nodes = details.nodes.set_index("node")
    assert set(nodes.index) == {"region1", "region1_1", "region1_2", "region1_3", "region2"}
    assert nodes.loc["region2", "longitude"] == -8.0 and nodes.loc["region1_1", "latitude"] == 41.0

    # Each link's net flow is what arrived at one end from the other, as the hourly flows say.
    flows = pd.read_csv(solved_samples["national_scale"].results_dir / "flows.csv")
    links = details.links.set_index("tech")
    assert set(links.index) == {"region1_to_region2", "region1_to_region1_1", "region1_to_region1_3"}
    for tech, link in links.iterrows():
        arrived = flows[(flows["tech"] == tech) & (flows["direction"] == "out")].groupby("node")["value"].sum()
        assert link["sent"] == pytest.approx(arrived.get(link["to_node"], 0.0))
        assert link["returned"] == pytest.approx(arrived.get(link["from_node"], 0.0))
        assert link["capacity"] > 0 and link["carrier"] == "power"
    assert links.loc["region1_to_region2", "from_node"] == "region1"
    assert links.loc["region1_to_region2", "sent"] > links.loc["region1_to_region2", "returned"]

    factors = details.capacity_factors
    systemwide = factors[factors["node"] == ""].set_index("tech")["value"]
    assert 0 < systemwide["ccgt"] <= 1 and 0 < systemwide["csp"] <= 1
    assert factors.loc[(factors["node"] == "region1") & (factors["tech"] == "ccgt"), "value"].iloc[0] == \
        pytest.approx(systemwide["ccgt"])  # ccgt stands at region1 only
    # csp stands at three locations: each one's factor is its own output over its own capacity, every
    # hour of the two days; weighted by capacity, they are Calliope's systemwide factor.
    results = solved_samples["national_scale"].results_dir
    capacity = pd.read_csv(results / "capacity.csv")
    capacity = capacity[(capacity["tech"] == "csp") & (capacity["variable"] == "flow_cap")
                        & (capacity["value"] > 1e-9)].set_index("node")["value"]
    out = flows[(flows["tech"] == "csp") & (flows["direction"] == "out")].groupby("node")["value"].sum()
    per_node = factors[(factors["tech"] == "csp") & (factors["node"] != "")].set_index("node")["value"]
    assert len(capacity) >= 2 and set(per_node.index) >= set(capacity.index)
    for node, cap in capacity.items():
        assert per_node[node] == pytest.approx(out.get(node, 0.0) / (cap * 48), rel=1e-6)
    assert (per_node[capacity.index] * capacity).sum() / capacity.sum() == pytest.approx(systemwide["csp"], rel=1e-6)

    levelised = details.levelised_costs
    total = levelised[(levelised["tech"] == "") & (levelised["carrier"] == "power")]["value"]
    assert len(total) == 1 and total.iloc[0] > 0
    assert (levelised.loc[levelised["tech"] != "", "value"] > 0).all()


def test_storage_level_and_dispatch_follow_the_period(national):
    whole = result_details.load_storage(**national)
    assert {"battery", "csp"} >= set(whole.levels["tech"]) and "battery" in set(whole.levels["tech"])
    assert whole.levels["timestep"].nunique() == 48 and (whole.levels["value"] >= 0).all() and not whole.note
    day = result_details.load_storage(**national, start="2005-01-02", end="2005-01-02", node="region2")
    assert day.levels["timestep"].nunique() == 24 and day.levels["timestep"].str.startswith("2005-01-02").all()
    assert set(day.levels["tech"]) == {"battery"}  # the battery stands at region2, the csp elsewhere

    dispatch = results.load_dispatch(**national, carrier="power", start="2005-01-02", end="2005-01-02")
    assert dispatch.flows["timestep"].nunique() == 24
    assert dispatch.flows["timestep"].str.startswith("2005-01-02").all()
    ccgt_only = results.load_dispatch(**national, carrier="power", node="region1", tech="ccgt")
    assert set(ccgt_only.flows["tech"]) == {"ccgt", "demand_power"}  # the tech and the demand it serves
    empty = results.load_dispatch(**national, carrier="power", start="2006-01-01", end="2006-01-31")
    assert empty.flows.empty and "period" in empty.note


def test_a_run_solved_before_the_new_tables_still_opens(national):
    from engage_reflex.models import Run
    from engage_reflex.state.result_drawing import Filters, draw_overview

    run = national["session"].get(Run, national["run_id"])
    folder = get_settings().data_dir / run.artefact_dir
    for filename, _columns in RESULT_TABLES.values():
        (folder / filename).unlink()
    details = result_details.load_details(**national)
    assert details.links is None and details.nodes is None and details.capacity_factors is None
    assert details.levelised_costs is None and not details.has_storage
    assert result_details.load_storage(**national).levels is None

    view = results.load_results(**national)
    chosen = Filters(carrier="power", cost_class="monetary")
    for part in ("levelised", "capacity_factors", "map"):
        assert draw_overview(part, view, details, chosen).layout.annotations[0].text == SOLVED_BEFORE
    assert draw_overview("capacity", view, details, chosen).data  # the old figures still draw


def test_long_periods_are_daily_means():
    steps = pd.date_range("2005-01-01", periods=24 * 90, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    hourly = pd.DataFrame({"timestep": steps, "tech": "ccgt", "value": 2.0})
    thinned, note = results.thin_out(hourly)
    assert len(thinned) == 90 and (thinned["value"] == 2.0).all() and "Daily means" in note
    week = results.slice_period(hourly, "2005-02-01", "2005-02-07")
    kept, note = results.thin_out(week)
    assert len(kept) == 24 * 7 and note == "" and kept["timestep"].iloc[0] == "2005-02-01 00:00:00"
