"""A corpus of hostile model folders, built from a tiny valid model by one mutation each.

`build_case(case, root)` writes the valid model into `root/model`, a folder of things that
must never be read into `root/_outside` (a marker, a CSV, a YAML file), applies the case's
mutation and returns the path to import. Each `Case` lists words its error message must
hold (the key, the file, the limit: what a planner reads to fix the model).
"""

from __future__ import annotations

import dataclasses
import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

BASE_YAML = textwrap.dedent("""\
    config:
      init:
        name: Hostile base
        subset: {timesteps: ["2005-01-01", "2005-01-01"]}
      build: {ensure_feasibility: true}
    data_definitions:
      objective_cost_weights: {data: 1, index: monetary, dims: costs}
    data_tables:
      profiles:
        table: profiles.csv
        rows: timesteps
        columns: [techs, nodes, inputs]
    techs:
      pv:
        base_tech: supply
        carrier_out: power
        source_unit: per_cap
        flow_cap_max: 100
        cost_flow_cap: {data: 800, index: monetary, dims: costs}
      demand_power: {base_tech: demand, carrier_in: power}
    nodes:
      A: {latitude: 50, longitude: 0, techs: {pv: null, demand_power: null}}
    """)


def write_profiles(path: Path, hours: int = 24) -> None:
    stamps = pd.date_range("2005-01-01", periods=hours, freq="h")
    frame = pd.DataFrame(
        {("pv", "A", "source_use_max"): np.clip(np.sin((stamps.hour - 6) / 12 * np.pi), 0, None).round(4),
         ("demand_power", "A", "sink_use_equals"): np.full(hours, 3.0)},
        index=pd.Index(stamps, name="timesteps"))
    frame.columns.names = ["techs", "nodes", "inputs"]
    frame.to_csv(path)


def write_base(model: Path, outside: Path) -> None:
    model.mkdir(parents=True)
    outside.mkdir(parents=True)
    (model / "model.yaml").write_text(BASE_YAML)
    write_profiles(model / "profiles.csv")
    (outside / "marker.txt").write_text("secret: never read me\n")
    write_profiles(outside / "costs.csv")
    (outside / "x.yaml").write_text("techs:\n  stolen: {base_tech: supply, carrier_out: power}\n")


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[Path, Path], object]  # (model folder, outside folder); its result is ignored
    words: tuple[str, ...]  # the message holds each of these
    env: tuple[tuple[str, str], ...] = ()  # settings for this case


def build_case(case: Case, root: Path) -> tuple[Path, Path]:
    """(path to import, the outside folder that must never be read)."""
    model, outside = root / "model", root / "_outside"
    write_base(model, outside)
    case.mutate(model, outside)
    return model, outside


# --------------------------------------------------------------------- mutations


def _yaml(model: Path) -> Path:
    return model / "model.yaml"


def replace(old: str, new: str) -> Callable:
    def mutate(model: Path, outside: Path):
        text = _yaml(model).read_text()
        assert old in text, old
        _yaml(model).write_text(text.replace(old, new, 1))
    return mutate


def prepend(text: str, files: dict[str, str] | None = None) -> Callable:
    def mutate(model: Path, outside: Path):
        _yaml(model).write_text(text + _yaml(model).read_text())
        for name, content in (files or {}).items():
            (model / name).parent.mkdir(parents=True, exist_ok=True)
            (model / name).write_text(content)
    return mutate


def append(text: str) -> Callable:
    def mutate(model: Path, outside: Path):
        _yaml(model).write_text(_yaml(model).read_text() + text)
    return mutate


def model_bytes(data: bytes) -> Callable:
    def mutate(model: Path, outside: Path):
        _yaml(model).write_bytes(data)
    return mutate


def csv_bytes(data: bytes) -> Callable:
    def mutate(model: Path, outside: Path):
        (model / "profiles.csv").write_bytes(data)
    return mutate


def symlink(name: str, target: Callable[[Path, Path], str]) -> Callable:
    def mutate(model: Path, outside: Path):
        link = model / name
        if link.exists() or link.is_symlink():
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target(model, outside), link)
    return mutate


def chain(*mutations: Callable) -> Callable:
    def mutate(model: Path, outside: Path):
        for m in mutations:
            m(model, outside)
    return mutate


def fifo(name: str) -> Callable:
    def mutate(model: Path, outside: Path):
        path = model / name
        if path.exists():
            path.unlink()
        os.mkfifo(path)
    return mutate


def deep_imports(n: int) -> Callable:
    def mutate(model: Path, outside: Path):
        prepend("import: [i1.yaml]\n")(model, outside)
        for i in range(1, n):
            (model / f"i{i}.yaml").write_text(f"import: [i{i + 1}.yaml]\n")
        (model / f"i{n}.yaml").write_text("data_definitions: {}\n")
    return mutate


def billion_laughs() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    return ("\n".join(lines) + "\n" + BASE_YAML.replace("name: Hostile base", "name: *i")).encode()


def deep_flow(n: int) -> bytes:
    return (BASE_YAML + "deep: " + "[" * n + "]" * n + "\n").encode()


def deep_block(n: int) -> bytes:
    return (BASE_YAML + "".join(f"{'  ' * i}k{i}:\n" for i in range(n)) + "  " * n + "x: 1\n").encode()


MATH_OK = "constraints: {}\n"

# ------------------------------------------------------------------------ corpus

CASES: list[Case] = [
    # duplicate keys and merging
    Case("duplicate_key_same_file", append("techs:\n  extra: {base_tech: supply}\n"),
         ("`techs`", "defined twice", "line 23", "first on line 13")),
    Case("duplicate_key_nested", replace("flow_cap_max: 100\n", "flow_cap_max: 100\n    flow_cap_max: 5\n"),
         ("`flow_cap_max`", "defined twice", "model.yaml, line")),
    Case("duplicate_key_across_import",
         prepend("import: [more.yaml]\n", {"more.yaml": "techs:\n  pv: {flow_cap_max: 3}\n"}),
         ("techs.pv.flow_cap_max", "defined both in model.yaml and in more.yaml")),
    Case("dotted_key_into_value", append("techs.pv.flow_cap_max.data: 3\n"),
         ("model.yaml, line 23", "`techs.pv.flow_cap_max.data`", "inside `techs.pv.flow_cap_max`")),
    # import cycles and chains
    Case("import_self", prepend("import: [model.yaml]\n"),
         ("circle", "model.yaml imports model.yaml")),
    Case("import_cycle_two_files", prepend("import: [a.yaml]\n", {"a.yaml": "import: [model.yaml]\n"}),
         ("circle", "model.yaml imports a.yaml, which imports model.yaml")),
    Case("import_cycle_three_files",
         prepend("import: [a.yaml]\n", {"a.yaml": "import: [sub/b.yaml]\n",
                                       "sub/b.yaml": "import: [../a.yaml]\n"}),
         ("circle", "a.yaml imports sub/b.yaml, which imports a.yaml")),
    Case("import_chain_too_deep", deep_imports(25), ("more than 16 levels", "ENGAGE_IMPORT_MAX_IMPORT_DEPTH")),
    Case("import_not_a_list", prepend("import: other.yaml\n"), ("`import` must be a list",)),
    Case("import_entry_number", prepend("import: [1]\n"), ("entry 1 of `import`", "a number", "text")),
    Case("import_entry_mapping", prepend("import: [ok.yaml, {a: b}]\n", {"ok.yaml": "{}\n"}),
         ("entry 2 of `import`", "a mapping")),
    Case("import_missing_file", prepend("import: [missing.yaml]\n"), ("`import`", "missing.yaml", "does not exist")),
    Case("import_directory", chain(prepend("import: [sub]\n"), lambda m, o: (m / "sub").mkdir()),
         ("`import`", "sub", "is a folder")),
    Case("import_fifo", chain(prepend("import: [pipe.yaml]\n"), fifo("pipe.yaml")),
         ("pipe.yaml", "not a regular file")),
    # outside the folder
    Case("data_table_outside", replace("table: profiles.csv", "table: ../_outside/costs.csv"),
         ("data_tables.profiles.table", "../_outside/costs.csv", "outside the model folder")),
    Case("data_table_absolute_outside", lambda m, o: replace("table: profiles.csv", f"table: {o / 'costs.csv'}")(m, o),
         ("data_tables.profiles.table", "outside the model folder")),
    Case("data_table_in_override_outside",
         append("overrides:\n  o:\n    data_tables:\n      t2: {table: ../_outside/costs.csv, rows: timesteps}\n"),
         ("overrides.o.data_tables.t2.table", "outside")),
    Case("data_table_template_outside",
         append("templates:\n  tt: {table: ../_outside/costs.csv}\n"),
         ("templates.tt.table", "outside")),
    Case("import_outside", prepend("import: [../_outside/x.yaml]\n"),
         ("model.yaml", "`import`", "../_outside/x.yaml", "outside the model folder")),
    Case("import_etc_passwd", prepend("import: [/etc/passwd]\n"), ("`import`", "/etc/passwd", "outside")),
    Case("import_outside_from_imported_file",
         prepend("import: [a.yaml]\n", {"a.yaml": "import: [../_outside/x.yaml]\n"}),
         ("a.yaml", "`import`", "outside")),
    Case("math_paths_outside", replace("  init:\n", "  init:\n    math_paths: {extra: ../_outside/x.yaml}\n"),
         ("config.init.math_paths.extra", "../_outside/x.yaml", "outside")),
    Case("math_paths_etc_passwd", replace("  init:\n", "  init:\n    math_paths: {extra: /etc/passwd}\n"),
         ("config.init.math_paths.extra", "/etc/passwd", "outside")),
    Case("math_paths_dotted_in_override", append("overrides:\n  o: {config.init.math_paths.x: ../x.yaml}\n"),
         ("overrides.o.config.init.math_paths.x", "outside")),
    Case("math_file_imports_outside",
         chain(replace("  init:\n", "  init:\n    math_paths: {extra: math.yaml}\n"),
               lambda m, o: (m / "math.yaml").write_text("import: [../_outside/x.yaml]\n" + MATH_OK)),
         ("math.yaml", "`import`", "outside")),
    Case("math_paths_missing", replace("  init:\n", "  init:\n    math_paths: {extra: nowhere.yaml}\n"),
         ("config.init.math_paths.extra", "nowhere.yaml", "does not exist")),
    Case("math_file_not_yaml",
         chain(replace("  init:\n", "  init:\n    math_paths: {extra: math.yaml}\n"),
               lambda m, o: (m / "math.yaml").write_text("constraints: [\n")),
         ("math.yaml", "not valid YAML")),
    Case("solver_logs_written_outside", replace("  build: {ensure_feasibility: true}\n",
                                                "  build: {ensure_feasibility: true}\n  solve: {save_logs: /etc/cron.d}\n"),
         ("config.solve.save_logs", "/etc/cron.d", "Remove this key")),
    Case("spores_written_in_override", append("overrides:\n  o: {config.solve.save_per_spore_path: /tmp/x}\n"),
         ("overrides.o.config.solve.save_per_spore_path", "write files")),
    # symbolic links
    Case("symlink_model_yaml_to_passwd", symlink("model.yaml", lambda m, o: "/etc/passwd"),
         ("model.yaml", "symbolic link", "/etc/passwd", "outside")),
    Case("symlink_csv_to_outside", symlink("profiles.csv", lambda m, o: str(o / "costs.csv")),
         ("profiles.csv", "symbolic link", "outside")),
    Case("symlink_folder_to_outside",
         chain(symlink("data", lambda m, o: str(o)), replace("table: profiles.csv", "table: data/costs.csv")),
         ("data", "symbolic link", "outside")),
    Case("symlink_unused_to_outside", symlink("notes/secret", lambda m, o: str(o / "marker.txt")),
         ("notes/secret", "symbolic link", "outside")),
    Case("symlink_loop", chain(prepend("import: [loop.yaml]\n"), symlink("loop.yaml", lambda m, o: "loop.yaml")),
         ("loop.yaml", "loops")),
    # sizes and bombs
    Case("billion_laughs_in_name", model_bytes(billion_laughs()),
         ("aliases", "ENGAGE_IMPORT_MAX_YAML_VALUES")),
    Case("too_many_aliases", append("anch: &v 1\nuses: [" + ", ".join(["*v"] * 12) + "]\n"),
         ("more than 10 times", "ENGAGE_IMPORT_MAX_YAML_ALIASES"), env=(("ENGAGE_IMPORT_MAX_YAML_ALIASES", "10"),)),
    Case("deep_flow_100k", model_bytes(deep_flow(100_000)), ("more than 64 levels", "ENGAGE_IMPORT_MAX_YAML_DEPTH")),
    Case("deep_block_500", model_bytes(deep_block(500)), ("more than 64 levels", "line")),
    Case("deep_through_aliases",
         append("d1: &d1 " + "[" * 40 + "]" * 40 + "\nd2: &d2 " + "[" * 30 + "*d1" + "]" * 30 + "\n"),
         ("more than 64 levels",)),
    Case("yaml_file_too_large", append("# " + "x" * 300_000 + "\n"),
         ("model.yaml", "0.3 MB", "0.25 MB", "ENGAGE_IMPORT_MAX_FILE_MB"),
         env=(("ENGAGE_IMPORT_MAX_FILE_MB", "0.25"),)),
    Case("csv_too_large", lambda m, o: write_profiles(m / "profiles.csv", hours=24 * 400),
         ("data_tables.profiles.table", "profiles.csv", "MB", "at most 0.2 MB", "ENGAGE_IMPORT_MAX_FILE_MB"),
         env=(("ENGAGE_IMPORT_MAX_FILE_MB", "0.2"),)),
    Case("tables_too_large_together",
         chain(replace("data_tables:\n", "data_tables:\n  again: {table: copy.csv, rows: timesteps, "
                                          "columns: [techs, nodes, inputs]}\n"),
               lambda m, o: write_profiles(m / "copy.csv", hours=24 * 120),
               lambda m, o: write_profiles(m / "profiles.csv", hours=24 * 120)),
         ("more than 0.1 MB", "profiles.csv", "ENGAGE_IMPORT_MAX_TOTAL_MB"),
         env=(("ENGAGE_IMPORT_MAX_TOTAL_MB", "0.1"),)),
    Case("too_many_files", deep_imports(6), ("more than 4 files", "ENGAGE_IMPORT_MAX_FILES"),
         env=(("ENGAGE_IMPORT_MAX_FILES", "4"),)),
    Case("huge_integer", replace("flow_cap_max: 100", "flow_cap_max: 123456789012345678901234567890"),
         ("line 18", "123456789012345678901234567890", "too large")),
    Case("integer_of_5000_digits", replace("flow_cap_max: 100", "flow_cap_max: " + "9" * 5000),
         ("line 18", "not a value Engage can read")),
    # encodings and what is not YAML
    Case("latin1_encoding", model_bytes(BASE_YAML.replace("Hostile base", "Zürich").encode("latin-1")),
         ("model.yaml", "not UTF-8", "line 3")),
    Case("utf16_encoding", model_bytes(BASE_YAML.encode("utf-16")), ("model.yaml", "binary")),
    Case("binary_model_yaml", model_bytes(bytes(range(256)) * 8), ("model.yaml", "binary")),
    Case("empty_model_yaml", model_bytes(b""), ("model.yaml", "empty")),
    Case("only_comments", model_bytes(b"# nothing here\n"), ("model.yaml", "empty")),
    Case("list_at_top_level", model_bytes(b"- config\n- techs\n"), ("model.yaml", "a list")),
    Case("text_at_top_level", model_bytes(b"just some words\n"), ("model.yaml", "just some words")),
    Case("tab_indentation", replace("    carrier_out: power\n", "\tcarrier_out: power\n"),
         ("model.yaml", "not valid YAML", "line")),
    Case("unclosed_bracket", replace("columns: [techs, nodes, inputs]", "columns: [techs, nodes, inputs"),
         ("model.yaml", "not valid YAML", "line")),
    Case("two_documents", append("---\nmore: 1\n"), ("more than one YAML document",)),
    Case("python_tag", append("evil: !!python/object/apply:os.system ['true']\n"), ("tag", "not supported")),
    Case("custom_tag_on_mapping", append("evil: !!omap [{a: 1}]\n"), ("tag", "not supported")),
    Case("undefined_alias", append("uses: *nothing\n"), ("alias", "*nothing", "no anchor")),
    Case("nul_in_string", append('note: "a\\0b"\n'), ("NUL",)),
    # keys that are not names
    Case("date_as_node_name", replace("  A: {latitude", "  2020-01-01: {latitude"),
         ("line 22", "2020-01-01", "a date", "quotes")),
    Case("bool_as_key", append("techs2:\n  true: 1\n"), ("true", "true/false", "quotes")),
    Case("float_as_key", append("techs2:\n  .nan: 1\n"), ("a number", "quotes")),
    Case("null_as_key", append("techs2:\n  ~: 1\n"), ("empty (null)", "quotes")),
    Case("list_as_key", append("techs2:\n  ? [a, b]\n  : 1\n"), ("a list or a mapping",)),
    # data tables that are not data
    Case("missing_model_yaml", lambda m, o: (m / "model.yaml").unlink(), ("no model.yaml",)),
    Case("model_yaml_is_folder", chain(lambda m, o: (m / "model.yaml").unlink(),
                                       lambda m, o: (m / "model.yaml").mkdir()),
         ("model.yaml", "is a folder")),
    Case("data_table_missing", replace("table: profiles.csv", "table: absent.csv"),
         ("data_tables.profiles.table", "absent.csv", "does not exist")),
    Case("data_table_not_csv", replace("table: profiles.csv", "table: profiles.xlsx"),
         ("data_tables.profiles.table", "profiles.xlsx", "not a .csv file")),
    Case("data_table_is_folder", chain(lambda m, o: (m / "profiles.csv").unlink(),
                                       lambda m, o: (m / "profiles.csv").mkdir()),
         ("data_tables.profiles.table", "is a folder")),
    Case("data_table_fifo", fifo("profiles.csv"), ("data_tables.profiles.table", "not a regular file")),
    Case("csv_empty", csv_bytes(b""), ("data_tables.profiles.table", "profiles.csv", "empty")),
    Case("csv_header_only", csv_bytes(b"techs,pv,demand_power\nnodes,A,A\ninputs,source_use_max,sink_use_equals\n"
                                      b"timesteps,,\n"),
         ("data_tables.profiles.table", "profiles.csv", "no data")),
    Case("csv_binary", csv_bytes(bytes(range(256)) * 4), ("data_tables.profiles.table", "profiles.csv")),
    Case("csv_latin1", csv_bytes("techs,pv\nnodes,Zürich\ninputs,source_use_max\ntimesteps,\n"
                                 "2005-01-01 00:00,1\n".encode("latin-1")),
         ("data_tables.profiles.table", "UTF-8")),
    Case("csv_ragged_rows", csv_bytes(b"techs,pv\nnodes,A\ninputs,source_use_max\ntimesteps,\n"
                                      b"2005-01-01 00:00,1,2,3,4\n"),
         ("data_tables.profiles.table", "profiles.csv")),
    Case("csv_wrong_dims", replace("columns: [techs, nodes, inputs]", "columns: [techs, nodes]"),
         ("profiles",)),
    Case("csv_text_values", csv_bytes(b"techs,pv,demand_power\nnodes,A,A\ninputs,source_use_max,sink_use_equals\n"
                                      b"timesteps,,\n2005-01-01 00:00,lots,many\n"),
         ("many",)),
    Case("tech_is_a_list", replace("  demand_power: {base_tech: demand, carrier_in: power}",
                                    "  demand_power: [demand, power]"), ("demand_power",)),
    Case("long_model_name", replace("name: Hostile base", "name: " + "n" * 300), ("200 characters",)),
]

# Odd but valid: these must import.
TOLERATED: list[Case] = [
    Case("utf8_bom", model_bytes(b"\xef\xbb\xbf" + BASE_YAML.encode()), ()),
    Case("crlf_line_ends", model_bytes(BASE_YAML.replace("\n", "\r\n").encode()), ()),
    Case("anchors_and_merge_keys",
         replace("  pv:\n    base_tech: supply\n    carrier_out: power\n",
                 "  pv:\n    <<: &supply {base_tech: supply, carrier_out: oil}\n    carrier_out: power\n"), ()),
    Case("import_inside_subfolder",
         prepend("import: [parts/techs.yaml]\n",
                 {"parts/techs.yaml": "techs:\n  wind: {base_tech: supply, carrier_out: power, flow_cap_max: 5}\n"}),
         ()),
    Case("symlink_inside_folder", chain(lambda m, o: (m / "profiles.csv").rename(m / "real.csv"),
                                        symlink("profiles.csv", lambda m, o: "real.csv")), ()),
]
