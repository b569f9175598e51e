"""The bridge between the database and Calliope 0.7 model definitions.

Import reads a model folder with Calliope's own loaders (`read_rich_yaml` for `import:`,
`TemplateSolver` for `templates:`, `DataTable` and `ModelDataBuilder` for `data_tables:`)
and stores it in the Engage schema. Export rebuilds a definition Calliope accepts from
the database and applies a scenario. Calliope knowledge lives here and in
jobs/calliope_runner.py only; this package never imports reflex.

Decisions worth knowing:

* Values: JSON has no infinity (PostgreSQL rejects `Infinity`), so +-inf is stored as the
  strings "inf" / "-inf" and turned back into floats on export. NaN means "not set" in
  Calliope and is stored as null.
* Indexed data (`{data, index, dims}`) is stored as one row per index item; a scalar as one
  row with dims == index == []. Export writes every indexed value in full (one data item
  per index item), so it does not depend on `broadcast_input_data`.
* Two layers, as in Calliope. YAML layer: a technology's value; a link's own value or a
  node's own value replaces the technology's value of that parameter as a whole
  (Calliope merges a node's `techs.<tech>.<param>` over the tech this way). Data-table
  layer: rows that point at a Timeseries are exported as in-memory data tables, which
  fill, per index item, whatever the YAML layer leaves undefined (node-level tables win
  over tech-level tables). Import keeps Calliope's precedence: a table value that YAML
  overrides is not stored, and plain (non-timeseries) table values are folded into the
  YAML layer under the YAML values.
* Scenarios: `Scenario.overrides` holds what an override changes, expressed against
  Engage's flattened definition (templates resolved, data tables folded in). It is
  computed by applying the override the way Calliope does to the original files and
  diffing the result, so it applies to the exported definition exactly as the original
  override applies to the original files (template overrides such as urban's
  `templates.heat_pipes` become per-link keys).
* Model-level `data_definitions` stay model-level; Calliope applies them after everything
  (they are also the one way to give a link different values at its two nodes).
* Links and tables: Calliope refuses transmission data over `nodes` in a data table, but
  its merge of tables spreads a link's table value over every node when the same variable
  is also given per node for other techs. Import keeps that value on the link (link or
  technology rows), as Calliope does; the export gives it back as the link's own value.
* Keys Calliope accepts but its math does not use (a note on a tech, a node attribute, a
  typo) are kept and exported like any value; import reports them in one warning,
  "kept but not used by Calliope's math: ...".
* Overrides that add data tables keep them: the CSV text is stored as a `ModelFile`
  (kind "data_table", at its path in the model folder) and the override keeps the table's
  definition, so the export writes the file back and Calliope reads it after the model's
  own tables, as in the original. An override that changes one of the model's own tables
  (they are folded into Engage's rows), or adds one that sets a value those tables set
  too, stores every table file of the model and replaces the export's `data_tables`
  (`_REPLACE_`) with all of them, in Calliope's order, over the model's own YAML (no table
  values folded in). Such a scenario is a copy of the imported tables: edits to the
  values they set do not reach it.
* A parameter over other dims in YAML than in a table: the table value fills the YAML
  value at every item of the dims it lacks (the items Calliope had when it merged them).
* A timeseries per node without a tech is a model-level timeseries over `nodes`.
* A tech that is never placed and has no base_tech is not in Calliope's inputs and cannot
  be an Engage technology (base_tech is required): import leaves it out with a warning.
  (A link without base_tech, which Calliope also accepts with an empty base_tech, is
  refused.)

Modules:

* `values`: constants, value/index encoding (JSON-safe values, canonical parameters) and
  the wording of Calliope's errors.
* `loading`: reading model.yaml (with imports), Calliope's own loading of the model and
  its data tables, custom math files.
* `resolve`: the model in Engage's shape (templates resolved, table values folded in).
* `importer`: `import_model_directory` and the writer of the database rows.
* `scenarios`: overrides/`scenarios:` on import (diffs), and applying a scenario on export.
* `exporter`: `export_scenario` and `ModelDefinition`.
* `cli`: helpers for `engage import` / `engage export`.
"""

from __future__ import annotations

from engage_reflex.services.calliope_io.cli import export_scenario_from_cli, import_model_from_cli
from engage_reflex.services.calliope_io.exporter import ModelDefinition, export_scenario
from engage_reflex.services.calliope_io.importer import import_model_directory
from engage_reflex.services.calliope_io.values import (
    BASE_SCENARIO,
    CARRIER_KEYS,
    EXTRA_TECH_KEYS,
    IDENTITY_KEYS,
    INF_TEXT,
    LINK_KEYS,
    LOCATION_COLUMNS,
    SOLVERS,
    TABLE_TECH_DEFINITION_VARS,
    TEXT_INF,
)
from engage_reflex.services.calliope_io.values import _calliope_message  # noqa: F401 (tests use it)

__all__ = [
    "BASE_SCENARIO",
    "CARRIER_KEYS",
    "EXTRA_TECH_KEYS",
    "IDENTITY_KEYS",
    "INF_TEXT",
    "LINK_KEYS",
    "LOCATION_COLUMNS",
    "SOLVERS",
    "TABLE_TECH_DEFINITION_VARS",
    "TEXT_INF",
    "ModelDefinition",
    "export_scenario",
    "export_scenario_from_cli",
    "import_model_directory",
    "import_model_from_cli",
]
