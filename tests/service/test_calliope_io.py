"""Import and export of Calliope models (services/calliope_io/), on SQLite and PostgreSQL.

The strongest check here compares Calliope's own view of a model: the `inputs` dataset
Calliope builds from the exported definition must equal the one it builds from the
original files, for the base scenario and for imported overrides. Solving is in
test_calliope_round_trip.py (slow).
"""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlmodel import Session, func, select

from engage_reflex.db import session_scope
from engage_reflex.models import (
    ActivityLog,
    EnergyModel,
    Link,
    LinkParameter,
    Location,
    ModelFile,
    ModelParameter,
    Node,
    NodeParameter,
    Scenario,
    ScenarioLink,
    ScenarioNode,
    Technology,
    TechnologyCarrier,
    TechParameter,
    Timeseries,
    User,
)
from engage_reflex.models.series_blob import unpack_series
from engage_reflex.services import calliope_io
from engage_reflex.services.errors import EngageError, NotFound
from tests.calliope_inputs import input_differences  # the exact comparison of model.inputs
from tests.calliope_inputs import read_yaml

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# Exports of the same example on each database, to check both give the same definition.
_EXPORTS: dict[str, dict[str, tuple]] = {}

TINY_YAML = textwrap.dedent("""\
    config:
      init:
        name: Tiny model
        subset: {timesteps: ["2005-01-01", "2005-01-02"]}
      build: {ensure_feasibility: false}
    data_definitions:
      cost_interest_rate: {data: 0.05, index: monetary, dims: costs}
      objective_cost_weights: {data: 1, index: monetary, dims: costs}
    data_tables:
      profiles:
        table: profiles.csv
        rows: timesteps
        columns: [techs, nodes, inputs]
    techs:
      pv:
        name: Solar PV
        color: "#F9D956"
        base_tech: supply
        carrier_out: power
        source_unit: per_cap
        flow_cap_max: 100
        lifetime: 25
        cost_flow_cap: {data: 800, index: monetary, dims: costs}
      battery:
        base_tech: storage
        carrier_in: power
        carrier_out: power
        flow_cap_max: 50
        storage_cap_max: .inf
        flow_in_eff: 0.95
        flow_out_eff: 0.95
        lifetime: 15
        cost_storage_cap: {data: 300, index: monetary, dims: costs}
        cost_flow_cap: {data: 100, index: monetary, dims: costs}
      demand_power: {base_tech: demand, carrier_in: power}
      a_to_b:
        base_tech: transmission
        link_from: A
        link_to: B
        carrier_in: power
        carrier_out: power
        flow_out_eff: 0.98
        flow_cap_max: 50
        lifetime: 40
        cost_flow_cap: {data: 50, index: monetary, dims: costs}
    nodes:
      A: {latitude: 50, longitude: 0, techs: {pv: null, demand_power: null}}
      B: {latitude: 50.5, longitude: 0.5, techs: {battery: null, demand_power: null}}
    overrides:
      expensive_pv: {techs.pv.cost_flow_cap.data: 1600}
      short: {config.init.subset.timesteps: ["2005-01-01", "2005-01-01"]}
    scenarios:
      expensive_short: [expensive_pv, short]
    """)


# ------------------------------------------------------------------------- helpers


def write_tiny_model(folder: Path, yaml_text: str = TINY_YAML) -> Path:
    """A 2-node, 4-tech, 48-hour model with its profiles in a CSV data table."""
    folder.mkdir(parents=True, exist_ok=True)
    stamps = pd.date_range("2005-01-01", periods=48, freq="h")
    hours = stamps.hour.to_numpy()
    profiles = pd.DataFrame(
        {
            ("pv", "A", "source_use_max"): np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None).round(6),
            ("demand_power", "A", "sink_use_equals"): (5 + 2 * np.cos((hours - 19) / 12 * np.pi)).round(6),
            ("demand_power", "B", "sink_use_equals"): (3 + np.cos((hours - 19) / 12 * np.pi)).round(6),
        },
        index=pd.Index(stamps, name="timesteps"),
    )
    profiles.columns.names = ["techs", "nodes", "inputs"]
    profiles.to_csv(folder / "profiles.csv")
    (folder / "model.yaml").write_text(yaml_text)
    return folder


def make_user(session: Session, email: str = "planner@example.org") -> int:
    user = User(email=email, password_hash="!not-a-hash")
    session.add(user)
    session.flush()
    return user.id


def scenario_id(session: Session, model_id: int, name: str) -> int:
    return session.exec(
        select(Scenario.id).where(Scenario.model_id == model_id, Scenario.name == name)
    ).one()


def count(session: Session, table, *where) -> int:
    return session.exec(select(func.count()).select_from(table).where(*where)).one()


def read_exported(md: calliope_io.ModelDefinition, folder: Path):
    """Calliope's model from an export, math files written where `definition_path` points."""
    import calliope

    for rel, text in md.files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calliope.read_dict(md.definition, data_table_dfs=md.dataframes, definition_path=folder)


def read_original(path: Path, scenario: str | None = None):
    import calliope

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calliope.read_yaml(path / "model.yaml", scenario=scenario)


def assert_same_inputs(original, exported) -> None:
    assert input_differences(original.inputs, exported.inputs) == []
    assert list(original.inputs.timesteps.values) == list(exported.inputs.timesteps.values)


def remember_export(key: str, db_url: str, md: calliope_io.ModelDefinition) -> None:
    """Keep this database's export and compare it with the other database's."""
    kind = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    seen = _EXPORTS.setdefault(key, {})
    seen[kind] = (md.definition, md.dataframes, md.files, md.input_hash())
    if len(seen) == 2:
        (d1, f1, files1, h1), (d2, f2, files2, h2) = seen.values()
        assert d1 == d2
        assert files1 == files2
        assert f1.keys() == f2.keys()
        for name in f1:
            pd.testing.assert_frame_equal(f1[name], f2[name], check_exact=True)
        assert h1 == h2


# ------------------------------------------------------------------------ fixtures


@pytest.fixture
def owner_id(session) -> int:
    return make_user(session)


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    return write_tiny_model(tmp_path / "tiny")


@pytest.fixture
def tiny_model(session, owner_id, tiny_dir) -> int:
    return calliope_io.import_model_directory(
        session=session, path=tiny_dir, owner_id=owner_id).model_id


# ------------------------------------------------------------- the example models


def test_national_scale_import_and_export(session, owner_id, db_url, calliope_examples_dir, tmp_path):
    source = calliope_examples_dir / "national_scale"
    report = calliope_io.import_model_directory(session=session, path=source, owner_id=owner_id)

    assert report.name == "National-scale example model"
    assert (report.locations, report.technologies, report.nodes, report.links) == (5, 6, 7, 4)
    assert report.timeseries == 5
    assert report.scenarios == 13  # base + 12 of the 15 overrides; both `scenarios:` skipped
    skipped = " ".join(report.warnings)
    for key in ("cold_fusion_with_production_share", "cold_fusion_prod_share",
                "cold_fusion_with_capacity_share", "cold_fusion"):
        assert f"`{key}`" in skipped
    assert "`time_clustering`" not in skipped  # its data table is kept (test_lossless_import)
    mid = report.model_id

    # The three free links share their template as one Technology; the AC line has its own.
    free = session.exec(select(Technology).where(
        Technology.model_id == mid, Technology.name == "free_transmission")).one()
    assert free.display_name == "Local power transmission" and free.base_tech == "transmission"
    assert count(session, Link, Link.technology_id == free.id) == 3
    ac_line = session.exec(select(Link).where(Link.name == "region1_to_region2")).one()
    assert session.get(Technology, ac_line.technology_id).name == "region1_to_region2"

    # Infinity survives JSON; costs come from costs.csv with their `costs` index.
    csp = session.exec(select(Technology).where(
        Technology.model_id == mid, Technology.name == "csp")).one()
    area = session.exec(select(TechParameter).where(
        TechParameter.technology_id == csp.id, TechParameter.name == "area_use_max")).one()
    assert (area.value, area.raw, area.dims, area.index_key) == ("inf", "inf", [], "")
    cost = session.exec(select(TechParameter).where(
        TechParameter.technology_id == csp.id, TechParameter.name == "cost_flow_cap")).one()
    assert (cost.value, cost.dims, cost.index, cost.index_key) == (1000, ["costs"], ["monetary"], "monetary")

    # Node-level override and a timeseries-backed node parameter.
    region1 = session.exec(select(Location).where(
        Location.model_id == mid, Location.name == "region1")).one()
    assert (region1.latitude, region1.longitude) == (40, -2)
    params = session.exec(select(NodeParameter).join(Node).where(
        Node.location_id == region1.id)).all()
    by_name = {p.name: p for p in params}
    assert by_name["flow_cap_max"].value == 30000
    demand = session.get(Timeseries, by_name["sink_use_equals"].timeseries_id)
    assert demand.name == "demand_power@region1:sink_use_equals"
    stamps, values = unpack_series(demand.data)
    assert demand.length == len(values) == len(stamps) == 8760
    assert stamps[0] == np.datetime64("2005-01-01T00:00:00")

    big_m = session.exec(select(ModelParameter).where(
        ModelParameter.model_id == mid, ModelParameter.name == "bigM")).one()
    assert big_m.value == 1e6 and big_m.dims == []
    assert session.exec(select(ActivityLog.action).where(ActivityLog.model_id == mid)).all() == ["imported"]

    # What Calliope builds from the export equals what it builds from the original files.
    md = calliope_io.export_scenario(session=session, scenario_id=scenario_id(session, mid, "base"))
    assert_same_inputs(read_original(source), read_exported(md, tmp_path))
    remember_export("national_scale", db_url, md)

    operate = calliope_io.export_scenario(
        session=session, scenario_id=scenario_id(session, mid, "operate"))
    assert_same_inputs(read_original(source, "operate"), read_exported(operate, tmp_path))


def test_urban_scale_import_and_export(session, owner_id, db_url, calliope_examples_dir, tmp_path):
    source = calliope_examples_dir / "urban_scale"
    report = calliope_io.import_model_directory(session=session, path=source, owner_id=owner_id)
    assert (report.locations, report.technologies, report.nodes, report.links) == (4, 9, 16, 5)
    assert (report.timeseries, report.scenarios, report.warnings) == (8, 3, [])
    mid = report.model_id

    techs = {t.name: t for t in session.exec(select(Technology).where(Technology.model_id == mid))}
    assert {"power_lines", "heat_pipes"} <= techs.keys()
    link = session.exec(select(Link).where(Link.name == "X1_to_X2")).one()
    assert link.technology_id == techs["power_lines"].id
    own = session.exec(select(LinkParameter).where(LinkParameter.link_id == link.id)).all()
    assert [(p.name, p.value) for p in own] == [("distance", 10)]

    roles = session.exec(select(TechnologyCarrier.role).where(
        TechnologyCarrier.technology_id == techs["chp"].id).order_by(
        TechnologyCarrier.role, TechnologyCarrier.position)).all()
    assert roles == ["export", "in", "out", "out"]

    # X2's `boiler.cost_flow_cap.data: 43.1` resolved against the tech's index and dims.
    boiler_x2 = session.exec(select(NodeParameter).join(Node).join(Location, Location.id == Node.location_id)
                             .where(Location.model_id == mid, Location.name == "X2",
                                    Node.technology_id == techs["boiler"].id)).one()
    assert (boiler_x2.name, boiler_x2.value) == ("cost_flow_cap", 43.1)
    assert (boiler_x2.dims, boiler_x2.index) == (["costs", "carriers"], ["monetary", "heat"])

    names = set(session.exec(select(Timeseries.name).where(Timeseries.model_id == mid)))
    assert {"pv:source_use_equals", "demand_heat@X2:sink_use_equals",
            "chp@X1:cost_export[electricity,monetary]"} <= names
    math_file = session.exec(select(ModelFile).where(ModelFile.model_id == mid)).one()
    assert math_file.path == "additional_math.yaml" and "link_chp_outputs" in math_file.content

    md = calliope_io.export_scenario(session=session, scenario_id=scenario_id(session, mid, "base"))
    assert sorted(md.dataframes) == ["timeseries_node", "timeseries_node_carriers_costs",
                                     "timeseries_tech"]
    assert md.files == {"additional_math.yaml": math_file.content}
    assert_same_inputs(read_original(source), read_exported(md, tmp_path))
    remember_export("urban_scale", db_url, md)

    # The milp override changes the `heat_pipes` template: it reaches the three heat links.
    milp = session.get(Scenario, scenario_id(session, mid, "milp"))
    assert milp.source_overrides == ["milp"]
    assert milp.overrides["techs"]["N1_to_X2"] == {"force_async_flow": True}
    exported = calliope_io.export_scenario(session=session, scenario_id=milp.id)
    assert_same_inputs(read_original(source, "milp"), read_exported(exported, tmp_path))


@SQLITE_ONLY
def test_directory_form_matches_original(session, owner_id, calliope_examples_dir, tmp_path):
    import calliope

    source = calliope_examples_dir / "urban_scale"
    report = calliope_io.import_model_directory(session=session, path=source, owner_id=owner_id)
    md = calliope_io.export_scenario(session=session,
                                     scenario_id=scenario_id(session, report.model_id, "base"))
    model_yaml = md.write_directory(tmp_path / "exported")
    assert model_yaml == tmp_path / "exported" / "model.yaml"
    assert (tmp_path / "exported" / "additional_math.yaml").is_file()
    assert sorted(p.name for p in (tmp_path / "exported" / "data_tables").iterdir()) == [
        "timeseries_node.csv", "timeseries_node_carriers_costs.csv", "timeseries_tech.csv"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_directory = calliope.read_yaml(model_yaml)
    assert_same_inputs(read_original(source), from_directory)


# --------------------------------------------------------------------- the tiny model


def test_tiny_model_scenarios_match_calliope(session, tiny_model, tiny_dir, tmp_path):
    expensive = session.get(Scenario, scenario_id(session, tiny_model, "expensive_short"))
    assert expensive.source_overrides == ["expensive_pv", "short"]
    assert expensive.overrides["techs"]["pv"]["cost_flow_cap"]["data"] == 1600
    for name in ("base", "expensive_pv", "expensive_short"):
        md = calliope_io.export_scenario(session=session, scenario_id=scenario_id(session, tiny_model, name))
        original = read_original(tiny_dir, None if name == "base" else name)
        assert_same_inputs(original, read_exported(md, tmp_path))


def test_input_hash_is_stable_and_sensitive(session, tiny_model):
    base = scenario_id(session, tiny_model, "base")
    first = calliope_io.export_scenario(session=session, scenario_id=base)
    again = calliope_io.export_scenario(session=session, scenario_id=base)
    assert first.input_hash() == again.input_hash()
    assert len(first.input_hash()) == 64
    other = calliope_io.export_scenario(session=session, scenario_id=scenario_id(session, tiny_model, "expensive_pv"))
    assert other.input_hash() != first.input_hash()
    resampled = calliope_io.export_scenario(session=session, scenario_id=base, resample="3h")
    assert resampled.input_hash() != first.input_hash()


def test_scenario_rows_settings_and_overrides_apply(session, tiny_model):
    scenario = Scenario(
        model_id=tiny_model, name="what-if",
        settings={"config.build.ensure_feasibility": True},
        overrides={"techs": {"pv": {"flow_cap_max": 42}}, "nodes.A.techs.pv.lifetime": 30},
    )
    session.add(scenario)
    session.flush()
    battery = session.exec(select(Node).join(Technology).where(
        Node.model_id == tiny_model, Technology.name == "battery")).one()
    link = session.exec(select(Link).where(Link.model_id == tiny_model)).one()
    session.add(ScenarioNode(scenario_id=scenario.id, node_id=battery.id, active=False))
    session.add(ScenarioLink(scenario_id=scenario.id, link_id=link.id, active=False))
    session.flush()

    definition = calliope_io.export_scenario(session=session, scenario_id=scenario.id).definition
    assert definition["nodes"]["B"]["techs"]["battery"]["active"] is False
    assert definition["techs"]["a_to_b"]["active"] is False
    assert definition["config"]["build"]["ensure_feasibility"] is True
    assert definition["techs"]["pv"]["flow_cap_max"] == 42
    assert definition["nodes"]["A"]["techs"]["pv"]["lifetime"] == 30
    assert definition["techs"]["battery"]["storage_cap_max"] == float("inf")


def test_run_options(session, tiny_model):
    base = scenario_id(session, tiny_model, "base")

    def config(**options):
        return calliope_io.export_scenario(session=session, scenario_id=base, **options).definition["config"]

    highs = config()
    assert highs["build"]["backend"] == "highs"
    cbc = config(solver="cbc", subset=("2005-01-01", "2005-01-01"), resample="6h")
    assert (cbc["build"]["backend"], cbc["solve"]["solver"]) == ("pyomo", "cbc")
    assert cbc["init"]["subset"]["timesteps"] == ["2005-01-01", "2005-01-01"]
    assert cbc["init"]["resample"]["timesteps"] == "6h"
    assert config(solver="glpk")["solve"]["solver"] == "glpk"

    for options, message in [
        ({"solver": "gurobi"}, "Unknown solver"),
        ({"subset": ("2005-01-02", "2005-01-01")}, "is after the end date"),
        ({"subset": ("yesterday-ish", "2005-01-01")}, "is not a date"),
        ({"resample": "sometimes"}, "is not a time resolution"),
    ]:
        with pytest.raises(EngageError, match=message):
            config(**options)
    with pytest.raises(NotFound):
        calliope_io.export_scenario(session=session, scenario_id=999_999)


def test_export_checks_view_permission(session, tiny_model, owner_id):
    stranger = make_user(session, "stranger@example.org")
    base = scenario_id(session, tiny_model, "base")
    assert calliope_io.export_scenario(session=session, scenario_id=base, user_id=owner_id).name == "Tiny model"
    with pytest.raises(NotFound):
        calliope_io.export_scenario(session=session, scenario_id=base, user_id=stranger)
    session.get(EnergyModel, tiny_model).is_public = True
    session.flush()
    assert calliope_io.export_scenario(session=session, scenario_id=base, user_id=stranger).name == "Tiny model"


# ------------------------------------------------------------------------ refusals


def _import_in_own_transaction(db_url: str, owner: int, path: Path, **kwargs):
    with session_scope(db_url) as session:
        return calliope_io.import_model_directory(session=session, path=path, owner_id=owner, **kwargs)


def _model_count(db_url: str) -> int:
    with session_scope(db_url) as session:
        return count(session, EnergyModel)


@pytest.fixture
def committed_owner(db_url) -> int:
    with session_scope(db_url) as session:
        return make_user(session)


def test_unknown_tech_key_is_kept_with_a_warning(db_url, committed_owner, tmp_path):
    # Calliope accepts and ignores it; Engage keeps it and says so (a typo shows up here).
    folder = write_tiny_model(tmp_path / "typo", TINY_YAML.replace(
        "    flow_cap_max: 100\n", "    flow_cap_max: 100\n    flow_cap_maxx: 5\n"))
    report = _import_in_own_transaction(db_url, committed_owner, folder)
    assert [w for w in report.warnings
            if "not used by Calliope's math: techs.pv.flow_cap_maxx" in w]
    assert _model_count(db_url) == 1


def test_failure_after_writing_rolls_everything_back(db_url, committed_owner, tmp_path):
    # Calliope accepts a link without base_tech (its base_tech is then empty); Engage needs
    # one. The error comes after the model, carriers and first technologies were flushed.
    folder = write_tiny_model(tmp_path / "half", TINY_YAML.replace(
        "nodes:\n", "  spare:\n    link_from: B\n    link_to: A\n    carrier_in: power\n"
        "    carrier_out: power\nnodes:\n"))
    assert read_yaml(folder / "model.yaml").inputs.base_tech.sel(techs="spare").isnull()
    with pytest.raises(EngageError, match=r"techs\.spare\.base_tech"):
        _import_in_own_transaction(db_url, committed_owner, folder)
    with session_scope(db_url) as session:
        assert count(session, EnergyModel) == 0
        assert count(session, Technology) == 0
        assert count(session, Timeseries) == 0


def test_duplicate_name_missing_folder_and_bad_yaml(db_url, committed_owner, tmp_path):
    tiny = write_tiny_model(tmp_path / "tiny")
    _import_in_own_transaction(db_url, committed_owner, tiny)
    with pytest.raises(EngageError, match="You already have a model called “Tiny model”"):
        _import_in_own_transaction(db_url, committed_owner, tiny / "model.yaml")
    renamed = _import_in_own_transaction(db_url, committed_owner, tiny, name="Tiny copy", is_public=True)
    assert renamed.name == "Tiny copy"

    with pytest.raises(EngageError, match="There is no folder or file"):
        _import_in_own_transaction(db_url, committed_owner, tmp_path / "nowhere")
    with pytest.raises(EngageError, match="There is no model.yaml"):
        _import_in_own_transaction(db_url, committed_owner, tmp_path)

    broken = write_tiny_model(tmp_path / "broken", TINY_YAML.replace("techs:\n", "techs: [\n", 1))
    with pytest.raises(EngageError, match="model.yaml is not valid YAML"):
        _import_in_own_transaction(db_url, committed_owner, broken)
    assert _model_count(db_url) == 2


def test_calliope_rejections_become_readable_errors(db_url, committed_owner, tmp_path):
    cases = {
        "old_key": (TINY_YAML + "parameters:\n  foo: 1\n", r"parameters: Extra inputs are not permitted"),
        "bad_base": (TINY_YAML.replace("base_tech: demand", "base_tech: sink"),
                     r"techs\.demand_power\.base_tech"),
        "bad_subset": (TINY_YAML.replace('["2005-01-01", "2005-01-02"]', '["2006-01-01", "2006-01-02"]'),
                       "Calliope cannot load this model"),
    }
    for folder, (text, message) in cases.items():
        with pytest.raises(EngageError, match=message):
            _import_in_own_transaction(db_url, committed_owner, write_tiny_model(tmp_path / folder, text))
    assert _model_count(db_url) == 0


def test_unrepresentable_override_is_skipped_with_a_warning(session, owner_id, tmp_path):
    # An override that adds a custom math file the model itself does not use.
    folder = write_tiny_model(tmp_path / "tables", TINY_YAML.replace(
        "scenarios:\n",
        "  more_math:\n    config.init.math_paths: {extra: extra_math.yaml}\nscenarios:\n"))
    (folder / "extra_math.yaml").write_text("constraints: {}\n")
    assert read_yaml(folder / "model.yaml", "more_math").inputs
    report = calliope_io.import_model_directory(session=session, path=folder, owner_id=owner_id)
    assert [w for w in report.warnings if "`more_math`" in w and "math files" in w]
    names = set(session.exec(select(Scenario.name).where(Scenario.model_id == report.model_id)))
    assert names == {"base", "expensive_pv", "short", "expensive_short"}


def test_table_values_keep_calliope_order_under_yaml_and_overrides(session, owner_id, tmp_path):
    """Plain table values fill what YAML leaves open, also at nodes and in overrides."""
    text = TINY_YAML.replace(
        "    cost_storage_cap: {data: 300, index: monetary, dims: costs}\n"
        "    cost_flow_cap: {data: 100, index: monetary, dims: costs}\n", ""
    ).replace(
        "  profiles:\n",
        "  costs:\n    table: costs.csv\n    rows: techs\n    columns: inputs\n"
        "    add_dims: {costs: monetary}\n"
        "  limits:\n    table: limits.csv\n    rows: nodes\n    columns: [techs, inputs]\n"
        "  profiles:\n",
    ).replace(
        "B: {latitude: 50.5, longitude: 0.5, techs: {battery: null, demand_power: null}}",
        "B: {latitude: 50.5, longitude: 0.5, techs: {battery: {cost_flow_cap: "
        "{data: 7, index: emissions, dims: costs}}, demand_power: null}}",
    ).replace(
        "scenarios:\n",
        "  emissions:\n"
        "    techs.battery.cost_storage_cap: {data: 2, index: emissions, dims: costs}\n"
        "    techs.gas: {base_tech: supply, carrier_out: power, flow_cap_max: 10, lifetime: 10,"
        " cost_flow_cap: {data: 1, index: monetary, dims: costs}}\n"
        "    nodes.B.techs.gas: null\n"
        "scenarios:\n",
    )
    folder = write_tiny_model(tmp_path / "tables", text)
    (folder / "costs.csv").write_text("techs,cost_storage_cap,cost_flow_cap\nbattery,300,100\n")
    (folder / "limits.csv").write_text("techs,pv,pv\ninputs,flow_cap_max,flow_cap_min\nnodes,,\nA,80,1\n")
    report = calliope_io.import_model_directory(session=session, path=folder, owner_id=owner_id)
    assert report.warnings == []

    node_b = session.exec(select(NodeParameter).join(Node).join(Location, Location.id == Node.location_id)
                          .where(Location.model_id == report.model_id, Location.name == "B",
                                 NodeParameter.timeseries_id.is_(None))).all()
    assert sorted((p.name, p.index_key, p.value) for p in node_b) == [
        ("cost_flow_cap", "emissions", 7), ("cost_flow_cap", "monetary", 100)]
    node_a = session.exec(select(NodeParameter).join(Node).join(Location, Location.id == Node.location_id)
                          .where(Location.model_id == report.model_id, Location.name == "A",
                                 NodeParameter.timeseries_id.is_(None))).all()
    # pv's own flow_cap_max (100) beats the table's 80 at A; flow_cap_min only the table sets.
    assert [(p.name, p.value) for p in node_a] == [("flow_cap_min", 1)]

    for name in ("base", "emissions"):
        md = calliope_io.export_scenario(session=session,
                                         scenario_id=scenario_id(session, report.model_id, name))
        original = read_original(folder, None if name == "base" else name)
        assert_same_inputs(original, read_exported(md, tmp_path))


def test_calliope_internal_errors_are_reworded():
    from engage_reflex.services.calliope_io import _calliope_message

    message = _calliope_message(AttributeError("'Dataset' object has no attribute 'carrier_in'"))
    assert message.startswith("nothing in the model defines `carrier_in`")
    assert _calliope_message(KeyError("'quoted words here'")) == "quoted words here"
