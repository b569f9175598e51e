"""Lossless import: whatever `calliope run` accepts imports, and the export is the same model.

Each test imports a model folder, exports a scenario as a YAML+CSV directory (what
`engage export` writes and `calliope run` reads), reads the original and the export with
`calliope.read_yaml` and compares every variable of `model.inputs` exactly
(tests/calliope_inputs.py). The hand-made models cover one case each: a link's values
given per node in a data table, per-node timeseries of a link, keys Calliope's math does
not use, an override that adds a data table or changes the model's own, a parameter in
data_definitions and in a table, YAML and table values over different dims, a timeseries
per node without a tech, a tech never placed and without base_tech, and templates.
The two samples are checked for every override and scenario Calliope itself accepts.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlmodel import Session, select

from engage_reflex.models import Link, LinkParameter, ModelFile, Scenario, Timeseries, User
from engage_reflex.services import calliope_io
from tests.calliope_inputs import assert_same_inputs, input_differences, read_yaml

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# Cheap power at A, dear power at B, demand at B: the link's capacity decides the cost.
# The link's cap comes from a table over `techs`; `limits` is over `nodes` and `techs`, so
# Calliope's merge spreads the link's value over every node (Calliope refuses transmission
# data over `nodes` in a table, so this is how a link's values reach nodes from tables).
LINK_YAML = textwrap.dedent("""\
    config:
      init:
        name: Link model
        subset: {timesteps: ["2005-01-01", "2005-01-02"]}
      build: {ensure_feasibility: false}
    data_definitions:
      cost_interest_rate: {data: 0.05, index: monetary, dims: costs}
      objective_cost_weights: {data: 1, index: monetary, dims: costs}
    data_tables:
      demand:
        table: demand.csv
        rows: timesteps
        columns: [techs, nodes, inputs]
      limits:
        table: limits.csv
        rows: [nodes, techs]
        columns: inputs
      link_caps:
        table: link_caps.csv
        rows: techs
        columns: inputs
    templates:
      line:
        base_tech: transmission
        carrier_in: power
        carrier_out: power
        lifetime: 40
        cost_flow_cap: {data: 1, index: monetary, dims: costs}
      generator:
        base_tech: supply
        carrier_out: power
        lifetime: 25
    techs:
      cheap:
        template: generator
        cost_flow_out: {data: 0.01, index: monetary, dims: costs}
      backup:
        template: generator
        cost_flow_out: {data: 10, index: monetary, dims: costs}
      demand_power: {base_tech: demand, carrier_in: power}
      a_to_b: {template: line, link_from: A, link_to: B}
    nodes:
      A: {latitude: 50, longitude: 0, techs: {cheap: null}}
      B: {latitude: 50.5, longitude: 0.5, techs: {backup: null, demand_power: null}}
    """)

STAMPS = pd.date_range("2005-01-01", periods=48, freq="h")


def write_link_model(folder: Path, yaml_text: str = LINK_YAML, extra_columns=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    hours = STAMPS.hour.to_numpy()
    demand = pd.DataFrame({("demand_power", "B", "sink_use_equals"):
                           (5 + 2 * np.cos((hours - 19) / 12 * np.pi)).round(6),
                           **(extra_columns or {})},
                          index=pd.Index(STAMPS, name="timesteps"))
    demand.columns.names = ["techs", "nodes", "inputs"]
    demand.to_csv(folder / "demand.csv")
    (folder / "limits.csv").write_text("nodes,techs,flow_cap_max\nA,cheap,100\nB,backup,100\n")
    (folder / "link_caps.csv").write_text("techs,flow_cap_max\na_to_b,2\n")
    (folder / "model.yaml").write_text(yaml_text)
    return folder


def import_export(session: Session, folder: Path, target: Path, scenario: str = "base",
                  **options):
    """Import `folder`, export `scenario` as a directory; (report, exported model.yaml)."""
    user = session.exec(select(User).where(User.email == "lossless@example.org")).first()
    if user is None:
        user = User(email="lossless@example.org", password_hash="!")
        session.add(user)
        session.flush()
    report = calliope_io.import_model_directory(session=session, path=folder, owner_id=user.id,
                                                name=f"{folder.name} {target.name}")
    return report, export_dir(session, report.model_id, scenario, target, **options)


def export_dir(session: Session, model_id: int, scenario: str, target: Path, **options) -> Path:
    scenario_id = session.exec(select(Scenario.id).where(
        Scenario.model_id == model_id, Scenario.name == scenario)).one()
    md = calliope_io.export_scenario(session=session, scenario_id=scenario_id, **options)
    return md.write_directory(target)


def link_rows(session: Session, model_id: int, name: str) -> list[tuple]:
    rows = session.exec(select(LinkParameter).join(Link).where(
        Link.model_id == model_id, LinkParameter.name == name).order_by(LinkParameter.id)).all()
    return [(r.dims, r.index, r.value, r.timeseries_id is not None) for r in rows]


# ------------------------------------------------------------------- hand-made models


def test_link_values_seen_per_node_are_kept(session, tmp_path):
    folder = write_link_model(tmp_path / "link")
    report, exported = import_export(session, folder, tmp_path / "export")
    assert report.warnings == []
    assert link_rows(session, report.model_id, "flow_cap_max") == [([], [], 2, False)]
    original = read_yaml(folder / "model.yaml")
    caps = original.inputs.flow_cap_max.sel(techs="a_to_b")
    assert caps.sel(nodes="A") == caps.sel(nodes="B") == 2
    assert_same_inputs(original, read_yaml(exported))


def _objective(model) -> float:
    model.build(backend="highs")
    model.solve(solver_options={"output_flag": False})
    assert model.runtime.termination_condition == "optimal"
    return float(model.results.min_cost_optimisation)


@SQLITE_ONLY
@pytest.mark.slow
def test_binding_link_cap_solves_the_same(session, tmp_path):
    folder = write_link_model(tmp_path / "link")
    _, exported = import_export(session, folder, tmp_path / "export")
    original, copy = read_yaml(folder / "model.yaml"), read_yaml(exported)
    expected = _objective(original)
    assert _objective(copy) == pytest.approx(expected, rel=1e-9)
    assert float(copy.results.flow_cap.sel(techs="a_to_b", nodes="B").max()) == pytest.approx(2)
    # The cap binds: without it power comes cheaply from A and the cost falls 100-fold.
    uncapped = write_link_model(tmp_path / "uncapped")
    (uncapped / "link_caps.csv").write_text("techs,flow_cap_max\na_to_b,1000\n")
    assert _objective(read_yaml(uncapped / "model.yaml")) < expected / 100


def test_link_values_per_node_yield_to_the_links_own_value(session, tmp_path):
    # Calliope: a YAML value beats a data table, per `costs` item too.
    text = LINK_YAML.replace(
        "{template: line, link_from: A, link_to: B}",
        "{template: line, link_from: A, link_to: B, flow_cap_max: 3}",
    ).replace("cost_flow_cap: {data: 1, index: monetary, dims: costs}",
              "cost_flow_cap: {data: 1, index: emissions, dims: costs}",
    ).replace("  link_caps:\n", textwrap.indent(textwrap.dedent("""\
        link_costs: {table: link_costs.csv, rows: techs, columns: inputs,
                     add_dims: {costs: monetary}}
        node_costs: {table: node_costs.csv, rows: [nodes, techs], columns: inputs,
                     add_dims: {costs: monetary}}
        """), "  ") + "  link_caps:\n")
    folder = write_link_model(tmp_path / "yaml_wins", text)
    (folder / "link_costs.csv").write_text("techs,cost_flow_cap\na_to_b,5\n")
    (folder / "node_costs.csv").write_text("nodes,techs,cost_flow_cap\nA,cheap,1\n")
    report, exported = import_export(session, folder, tmp_path / "export")
    assert link_rows(session, report.model_id, "flow_cap_max") == [([], [], 3, False)]
    assert sorted(link_rows(session, report.model_id, "cost_flow_cap")) == [
        (["costs"], ["emissions"], 1, False), (["costs"], ["monetary"], 5, False)]
    assert_same_inputs(read_yaml(folder / "model.yaml"), read_yaml(exported))


def test_link_given_per_node_in_data_definitions(session, tmp_path):
    # The one way to give a link different values at its two nodes (Calliope refuses
    # transmission data over `nodes` in tables): model-level data over nodes and techs.
    text = LINK_YAML.replace(
        "  objective_cost_weights:",
        "  flow_out_eff: {data: [0.9, 0.8], index: [[A, a_to_b], [B, a_to_b]], dims: [nodes, techs]}\n"
        "  objective_cost_weights:")
    folder = write_link_model(tmp_path / "per_node", text)
    report, exported = import_export(session, folder, tmp_path / "export")
    original = read_yaml(folder / "model.yaml")
    assert float(original.inputs.flow_out_eff.sel(nodes="B", techs="a_to_b")) == 0.8
    assert_same_inputs(original, read_yaml(exported))


def test_link_timeseries_seen_per_node_are_kept(session, tmp_path):
    text = LINK_YAML.replace("  link_caps:\n", textwrap.indent(textwrap.dedent("""\
        link_profiles:
          table: link_profiles.csv
          rows: timesteps
          columns: [techs, inputs]
        """), "  ") + "  link_caps:\n")
    hours = STAMPS.hour.to_numpy()
    backup_eff = {("backup", "B", "flow_out_eff"): (0.7 + 0.1 * np.sin(hours / 24 * np.pi)).round(6)}
    folder = write_link_model(tmp_path / "link_ts", text, extra_columns=backup_eff)
    profiles = pd.DataFrame({
        ("a_to_b", "flow_out_eff"): (0.9 + 0.05 * np.sin(hours / 24 * 2 * np.pi)).round(6),
    }, index=pd.Index(STAMPS, name="timesteps"))
    profiles.columns.names = ["techs", "inputs"]
    profiles.to_csv(folder / "link_profiles.csv")

    report, exported = import_export(session, folder, tmp_path / "export")
    assert [r[3] for r in link_rows(session, report.model_id, "flow_out_eff")] == [True]
    names = set(session.exec(select(Timeseries.name).where(Timeseries.model_id == report.model_id)))
    assert {"a_to_b:flow_out_eff", "backup@B:flow_out_eff"} <= names
    original = read_yaml(folder / "model.yaml")
    assert original.inputs.flow_out_eff.sel(nodes="B", techs="a_to_b").notnull().all()
    assert_same_inputs(original, read_yaml(exported))


def test_keys_calliope_does_not_use_are_kept_with_a_warning(session, tmp_path):
    text = LINK_YAML.replace(
        "    lifetime: 25\n", "    lifetime: 25\n    owner_note: fleet 7\n"
    ).replace(
        "    cost_flow_out: {data: 10, index: monetary, dims: costs}\n",
        "    cost_flow_out: {data: 10, index: monetary, dims: costs}\n    flow_cap_maxx: 5\n",
    ).replace(
        "A: {latitude: 50, longitude: 0, techs: {cheap: null}}",
        "A: {latitude: 50, longitude: 0, grid_zone: 3, techs: {cheap: {site_ref: {data: 4, "
        "index: monetary, dims: costs}}}}",
    ).replace(
        "  objective_cost_weights: {data: 1, index: monetary, dims: costs}\n",
        "  objective_cost_weights: {data: 1, index: monetary, dims: costs}\n  study_year: 2030\n",
    )
    folder = write_link_model(tmp_path / "unknown", text)
    (folder / "link_caps.csv").write_text("techs,flow_cap_max,cable_type\na_to_b,2,7\n")
    report, exported = import_export(session, folder, tmp_path / "export")
    [warning] = [w for w in report.warnings if "not used by Calliope's math" in w]
    for path in ("techs.cheap.owner_note", "techs.backup.owner_note", "techs.backup.flow_cap_maxx",
                 "nodes.A.grid_zone", "nodes.A.techs.cheap.site_ref",
                 "data_definitions.study_year", "techs.a_to_b.cable_type"):
        assert path in warning
    assert "lifetime" not in warning and "flow_cap_max," not in warning
    text = exported.read_text()
    assert "owner_note: fleet 7" in text and "flow_cap_maxx: 5" in text and "grid_zone: 3" in text
    original = read_yaml(folder / "model.yaml")
    assert "flow_cap_maxx" in original.inputs and "cable_type" in original.inputs
    assert_same_inputs(original, read_yaml(exported))


def test_override_adding_a_data_table_keeps_its_data(session, tmp_path):
    text = LINK_YAML + textwrap.dedent("""\
        overrides:
          priced:
            data_tables:
              prices:
                table: tables/prices.csv
                rows: techs
                columns: inputs
                add_dims: {costs: monetary}
            techs.backup.flow_cap_max: 50
          short: {config.init.subset.timesteps: ["2005-01-01", "2005-01-01"]}
        scenarios:
          priced_short: [priced, short]
        """)
    folder = write_link_model(tmp_path / "override", text)
    (folder / "tables").mkdir()
    (folder / "tables" / "prices.csv").write_text("techs,cost_flow_cap\ncheap,20\nbackup,3\n")
    report, _ = import_export(session, folder, tmp_path / "unused")
    assert report.warnings == []
    stored = session.exec(select(ModelFile).where(ModelFile.model_id == report.model_id)).all()
    assert [(f.path, f.kind) for f in stored] == [("tables/prices.csv", "data_table")]
    priced = session.exec(select(Scenario).where(Scenario.model_id == report.model_id,
                                                 Scenario.name == "priced")).one()
    assert priced.overrides["data_tables"]["prices"]["table"] == "tables/prices.csv"

    copy = tmp_path / "original"
    shutil.copytree(folder, copy)
    shutil.rmtree(folder)  # the export needs nothing but the database
    for name in ("base", "priced", "priced_short"):
        exported = export_dir(session, report.model_id, name, tmp_path / f"export_{name}")
        original = read_yaml(copy / "model.yaml", None if name == "base" else name)
        assert_same_inputs(original, read_yaml(exported))
    assert (tmp_path / "export_priced" / "tables" / "prices.csv").read_text() == \
        (copy / "tables" / "prices.csv").read_text()
    assert "cost_flow_cap" in read_yaml(copy / "model.yaml", "priced").inputs


def test_override_changing_the_models_tables_round_trips(session, tmp_path):
    # The model's own tables are folded into Engage's rows; an override that changes one
    # of them, or adds one that sets what they set, gives every table back in its scenario.
    text = LINK_YAML + textwrap.dedent("""\
        overrides:
          other_caps: {data_tables.link_caps.table: caps2.csv}
          more_caps:
            data_tables.more_limits: {table: limits2.csv, rows: [nodes, techs], columns: inputs}
          dropped_caps: {data_tables.link_caps: null}
        scenarios:
          both: [other_caps, more_caps]
        """)
    folder = write_link_model(tmp_path / "changed", text)
    (folder / "caps2.csv").write_text("techs,flow_cap_max\na_to_b,7\n")
    (folder / "limits2.csv").write_text("nodes,techs,flow_cap_max\nA,cheap,50\n")
    report, _ = import_export(session, folder, tmp_path / "unused")
    assert report.warnings == []
    copy = tmp_path / "original"
    shutil.copytree(folder, copy)
    shutil.rmtree(folder)  # the export needs nothing but the database
    caps = {"other_caps": ("a_to_b", "B", 7), "more_caps": ("cheap", "A", 50),
            "both": ("a_to_b", "A", 7)}
    for name in ("base", "other_caps", "more_caps", "dropped_caps", "both"):
        original = read_yaml(copy / "model.yaml", None if name == "base" else name)
        if name in caps:  # the override does change what Calliope sees
            tech, node, value = caps[name]
            assert float(original.inputs.flow_cap_max.sel(techs=tech, nodes=node)) == value
        exported = export_dir(session, report.model_id, name, tmp_path / f"export_{name}")
        assert_same_inputs(original, read_yaml(exported))
    assert float(read_yaml(copy / "model.yaml", "both").inputs.flow_cap_max.sel(
        techs="cheap", nodes="A")) == 50


# data_definitions entry, the table's rows and its CSV: Calliope applies data_definitions
# last, over the table's values where it gives one and under them nowhere.
MODEL_AND_TABLE = {
    "scalar": ("flow_out_eff: 0.95", "techs", "techs,flow_out_eff\nbackup,0.9\n"),
    "other_tech": ("flow_out_eff: {data: 0.95, index: cheap, dims: techs}", "techs",
                   "techs,flow_out_eff\nbackup,0.9\n"),
    "same_tech": ("flow_out_eff: {data: 0.95, index: backup, dims: techs}", "techs",
                  "techs,flow_out_eff\nbackup,0.9\ncheap,0.8\n"),
    "per_node": ("flow_out_eff: {data: 0.85, index: A, dims: nodes}", "techs",
                 "techs,flow_out_eff\nbackup,0.9\ncheap,0.8\n"),
    "node_tech_table": ("flow_out_eff: {data: 0.85, index: [[A, cheap]], dims: [nodes, techs]}",
                        "[nodes, techs]", "nodes,techs,flow_out_eff\nB,backup,0.9\nA,cheap,0.8\n"),
    "over_costs": ("cost_flow_cap: {data: 2, index: monetary, dims: costs}", "[techs, costs]",
                   "techs,costs,cost_flow_cap\nbackup,monetary,0.9\ncheap,emissions,0.8\n"),
}


@pytest.mark.parametrize("case", list(MODEL_AND_TABLE))
def test_parameter_in_data_definitions_and_a_tech_table(session, tmp_path, case):
    entry, rows, csv = MODEL_AND_TABLE[case]
    text = LINK_YAML.replace(
        "  objective_cost_weights:", f"  {entry}\n  objective_cost_weights:"
    ).replace("  link_caps:\n", f"  extra: {{table: extra.csv, rows: {rows}, columns: inputs}}\n"
                                 "  link_caps:\n")
    folder = write_link_model(tmp_path / case, text)
    (folder / "extra.csv").write_text(csv)
    original = read_yaml(folder / "model.yaml")
    param = entry.split(":")[0]
    values = set(original.inputs[param].to_series().dropna())
    if case == "scalar":  # data_definitions wins everywhere
        assert values == {0.95}
    else:  # both reach Calliope: the table's value where data_definitions gives none
        assert len(values) >= 2, values
    report, exported = import_export(session, folder, tmp_path / "export")
    assert report.warnings == []
    assert_same_inputs(original, read_yaml(exported))


# What YAML gives (a replacement in LINK_YAML), the table's rows and its CSV. The YAML
# value is over `costs`, the table's is not: Calliope spreads the
# table's value over every `costs` item the YAML leaves empty (emissions exists because
# of cheap's emissions cost).
DIMS_CASES = {
    "tech_yaml_over_costs": (
        ("cost_flow_out: {data: 10, index: monetary, dims: costs}",
         "cost_flow_out: {data: 10, index: monetary, dims: costs}\n"
         "    cost_flow_cap: {data: 1, index: monetary, dims: costs}"),
        "techs", "techs,cost_flow_cap\nbackup,5\ncheap,3\n"),
    "node_yaml_over_costs": (
        ("backup: null, demand_power", "backup: {cost_flow_cap: {data: 2, index: emissions, "
         "dims: costs}}, demand_power"),
        "[nodes, techs]", "nodes,techs,cost_flow_cap\nB,backup,5\nA,cheap,3\n"),
}


@pytest.mark.parametrize("case", list(DIMS_CASES))
def test_yaml_and_table_values_over_different_dims(session, tmp_path, case):
    (old, new), rows, csv = DIMS_CASES[case]
    assert old in LINK_YAML
    text = LINK_YAML.replace(old, new).replace(
        "cost_flow_out: {data: 0.01, index: monetary, dims: costs}",
        "cost_flow_out: {data: [0.01, 1], index: [monetary, emissions], dims: costs}",
    ).replace("  link_caps:\n", f"  extra: {{table: extra.csv, rows: {rows}, columns: inputs}}\n"
                                 "  link_caps:\n")
    folder = write_link_model(tmp_path / case, text)
    (folder / "extra.csv").write_text(csv)
    original = read_yaml(folder / "model.yaml")
    caps = original.inputs.cost_flow_cap
    assert set(caps.dims) >= {"techs", "costs"}
    # The table's value fills the item the YAML value leaves empty.
    assert 5 in set(caps.sel(techs="backup").to_series().dropna())
    report, exported = import_export(session, folder, tmp_path / "export")
    assert report.warnings == []
    assert_same_inputs(original, read_yaml(exported))


def test_timeseries_per_node_without_a_tech(session, tmp_path):
    # A table over nodes and timesteps with no tech; B's own YAML value wins over it.
    text = LINK_YAML.replace("  link_caps:\n", textwrap.indent(textwrap.dedent("""\
        site_weather:
          table: weather.csv
          rows: timesteps
          columns: [nodes, inputs]
        """), "  ") + "  link_caps:\n").replace(
        "B: {latitude: 50.5,", "B: {air_temperature: 12, latitude: 50.5,")
    folder = write_link_model(tmp_path / "weather", text)
    hours = STAMPS.hour.to_numpy()
    weather = pd.DataFrame({(node, "air_temperature"): (10 + shift + 5 * np.sin(hours / 24 * np.pi))
                            .round(4) for node, shift in (("A", 0), ("B", 3))},
                           index=pd.Index(STAMPS, name="timesteps"))
    weather.columns.names = ["nodes", "inputs"]
    weather.to_csv(folder / "weather.csv")
    original = read_yaml(folder / "model.yaml")
    temperature = original.inputs.air_temperature
    assert set(temperature.dims) == {"nodes", "timesteps"}
    assert temperature.sel(nodes="A").std() > 1 and (temperature.sel(nodes="B") == 12).all()

    report, exported = import_export(session, folder, tmp_path / "export")
    [warning] = report.warnings  # a name Calliope's math does not use: kept, and reported
    assert "air_temperature" in warning and "not used by Calliope's math" in warning
    names = set(session.exec(select(Timeseries.name).where(Timeseries.model_id == report.model_id)))
    assert "air_temperature[A]" in names and not any("[B]" in name for name in names)
    assert_same_inputs(original, read_yaml(exported))


def test_tech_never_placed_and_without_base_tech(session, tmp_path):
    # Calliope accepts it and leaves it out of the model; so does Engage, with a warning.
    # An override that gives it a base_tech and places it brings it in, in both.
    spare = "  spare: {carrier_out: hydrogen, lifetime: 3}\nnodes:\n"
    text = LINK_YAML.replace("nodes:\n", spare) + textwrap.dedent("""\
        overrides:
          with_spare: {techs.spare.base_tech: supply, nodes.A.techs.spare: null}
        """)
    folder = write_link_model(tmp_path / "spare", text)
    original = read_yaml(folder / "model.yaml")
    assert "spare" not in original.inputs.techs and "hydrogen" not in original.inputs.carriers
    report, exported = import_export(session, folder, tmp_path / "export")
    [warning] = report.warnings
    assert "techs.spare" in warning and "base_tech" in warning
    assert_same_inputs(original, read_yaml(exported))
    with_spare = read_yaml(folder / "model.yaml", "with_spare")
    assert float(with_spare.inputs.lifetime.sel(techs="spare")) == 3
    exported = export_dir(session, report.model_id, "with_spare", tmp_path / "with_spare")
    assert_same_inputs(with_spare, read_yaml(exported))


def test_templates_of_techs_nodes_and_links(session, tmp_path):
    text = LINK_YAML.replace("templates:\n", textwrap.dedent("""\
        templates:
          dear_generator:
            template: generator
            cost_flow_cap: {data: 3, index: monetary, dims: costs}
          demand_site:
            available_area: 40
            techs: {demand_power: null}
        """), 1).replace(
        "    template: generator\n    cost_flow_out: {data: 10,",
        "    template: dear_generator\n    cost_flow_out: {data: 10,",
    ).replace("B: {latitude: 50.5, longitude: 0.5, techs: {backup: null, demand_power: null}}",
              "B: {template: demand_site, latitude: 50.5, longitude: 0.5, techs: {backup: null}}")
    text += textwrap.dedent("""\
        overrides:
          long_lines: {templates.line.lifetime: 60, templates.demand_site.available_area: 80}
        """)
    folder = write_link_model(tmp_path / "templates", text)
    assert "template: dear_generator" in text and "template: demand_site" in text
    report, exported = import_export(session, folder, tmp_path / "export")
    assert report.warnings == []
    original = read_yaml(folder / "model.yaml")
    assert float(original.inputs.cost_flow_cap.sel(techs="backup", costs="monetary")) == 3
    assert_same_inputs(original, read_yaml(exported))
    exported = export_dir(session, report.model_id, "long_lines", tmp_path / "long_lines")
    assert_same_inputs(read_yaml(folder / "model.yaml", "long_lines"), read_yaml(exported))


def test_comparer_sees_a_difference(tmp_path):
    """The comparison is not vacuous: a changed value, dtype or variable is reported."""
    folder = write_link_model(tmp_path / "a")
    other = write_link_model(tmp_path / "b")
    (other / "link_caps.csv").write_text("techs,flow_cap_max\na_to_b,3\n")
    a, b = read_yaml(folder / "model.yaml").inputs, read_yaml(other / "model.yaml").inputs
    assert input_differences(a, a) == []
    assert input_differences(a, b) == ["flow_cap_max: values differ"]
    assert input_differences(a, b.drop_vars("flow_cap_max")) == ["flow_cap_max: only in original"]
    changed = a.assign(lifetime=a.lifetime.astype("float32"))
    assert input_differences(a, changed) == ["lifetime: dtype float64 != float32"]
    # Per tech instead of per (node, tech) is accepted only with the same values.
    per_tech = a.flow_cap_max.max("nodes")
    assert input_differences(a, a.assign(flow_cap_max=per_tech)) == []
    assert input_differences(a, a.assign(flow_cap_max=per_tech + 1)) == [
        "flow_cap_max: values differ"]


# ------------------------------------------------------------------------- the samples


def _accepted_scenarios(model_yaml: Path) -> list[str]:
    import calliope

    raw = calliope.io.read_rich_yaml(model_yaml)
    return [*(raw.get("overrides") or {}), *(raw.get("scenarios") or {})]


@SQLITE_ONLY
@pytest.mark.slow
@pytest.mark.parametrize("example", ["national_scale", "urban_scale"])
def test_samples_round_trip_for_every_scenario_calliope_accepts(
        session, calliope_examples_dir, example, tmp_path):
    source = calliope_examples_dir / example
    report, exported = import_export(session, source, tmp_path / "base")
    assert_same_inputs(read_yaml(source / "model.yaml"), read_yaml(exported))
    imported = set(session.exec(select(Scenario.name).where(Scenario.model_id == report.model_id)))
    checked, refused = [], []
    for name in _accepted_scenarios(source / "model.yaml"):
        try:
            original = read_yaml(source / "model.yaml", name)
        except Exception:
            # Calliope itself refuses it (names a missing override, or 2005-02-31): Engage
            # may skip it, or keep it and fail its runs with Calliope's message.
            refused.append(name)
            continue
        assert name in imported, [w for w in report.warnings if f"`{name}`" in w]
        exported = export_dir(session, report.model_id, name, tmp_path / name)
        assert input_differences(original.inputs, read_yaml(exported).inputs) == [], name
        checked.append(name)
    assert checked
    if example == "national_scale":
        assert "time_clustering" in checked  # adds a data table (over `datesteps`)
        assert sorted(refused) == [  # a missing template, bad dates, `data` given as a dict
            "cold_fusion", "cold_fusion_with_capacity_share", "cold_fusion_with_production_share",
            "maximize_utility_costs", "minimize_emissions_costs", "run2", "run4"]
        assert len(checked) == 10
