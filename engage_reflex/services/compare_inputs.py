"""What differed in the inputs of two runs, in planner words.

The run options on the Run rows, then each run's exported definition (`inputs.zip`: model.yaml,
its data tables, math files), flattened to parameter paths and told in planner words ("ccgt:
flow_cap_max 30000 → 40000", "battery: switched off at region2"); data tables are summed up per
column rather than listed value by value. The zips are read in memory, member by member, never
unpacked to disk.
"""

from __future__ import annotations

import io
import math
import posixpath
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from engage_reflex.models import Run
from engage_reflex.schemas import RunView
from engage_reflex.schemas.compare import InputChange
from engage_reflex.services import parameters, runs, storage
from engage_reflex.services.errors import EngageError


INPUTS_ARTEFACT = "inputs"
# The zips are ours, but a member is read into memory only within these bounds.
MAX_MEMBER_BYTES = 300 * 1024 * 1024
MAX_MEMBERS = 2000
NOT_SET = "not set"
# Config keys that the run options already say (shown there, not twice).
_RUN_OPTION_CONFIG = {("init", "subset"): "Dates", ("init", "resample"): "Time steps",
                      ("build", "backend"): "Solver", ("solve", "solver"): "Solver",
                      ("init", "time_cluster"): "Time clustering"}


class _Index(str):
    """A key of an indexed value (e.g. the cost class "monetary" of cost_flow_cap), not a YAML key."""


def artefact_path(run: Run, name: str, default: str) -> Path | None:
    """A local file with the run's artefact `name` (from the run files store), None if it has none."""
    return storage.stored_file(runs.results_dir(run), (run.artefacts or {}).get(name, default))


class _Inputs:
    """A run's exported definition, read from its inputs.zip in memory."""

    def __init__(self, path: Path):
        self.definition: dict = {}
        self.tables: dict[str, pd.DataFrame] = {}
        self.files: dict[str, Any] = {}  # other members (math files), by path below the model folder
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_MEMBERS:
                raise EngageError(f"The inputs of this run hold {len(members)} files; too many to compare.")
            by_name = {_safe_name(m.filename): m for m in members}
            root = min((n for n in by_name if posixpath.basename(n) == "model.yaml"), key=lambda n: n.count("/"),
                       default=None)
            if root is None:
                raise EngageError("The inputs of this run have no model.yaml.")
            folder = posixpath.dirname(root)
            self.definition = _load_yaml(_read_member(archive, by_name[root])) or {}
            used = {root}
            for name, spec in (self.definition.get("data_tables") or {}).items():
                table = str((spec or {}).get("table", ""))
                member = _safe_name(posixpath.join(folder, table)) if table.endswith(".csv") else ""
                if member in by_name:
                    used.add(member)
                    self.tables[name] = _read_table(_read_member(archive, by_name[member]), spec)
            for member, info in by_name.items():
                if member in used or not member.startswith(folder):
                    continue
                raw = _read_member(archive, info)
                relative = member[len(folder):].lstrip("/")
                if member.endswith((".yaml", ".yml")):
                    try:
                        self.files[relative] = _load_yaml(raw)
                        continue
                    except Exception:  # not YAML after all: compared as bytes
                        pass
                self.files[relative] = raw


def _load_yaml(raw: bytes) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(raw.decode("utf-8"))


def _safe_name(name: str) -> str:
    """A member name as a plain relative path; anything else is refused (the zip is not trusted blindly)."""
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or any(p in ("..",) for p in parts) or ":" in parts[0]:
        raise EngageError(f"The inputs of this run hold an unexpected file name “{name}”.")
    return posixpath.normpath(name)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise EngageError(f"The file {info.filename} of this run's inputs is too large to compare.")
    with archive.open(info) as handle:
        data = handle.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise EngageError(f"The file {info.filename} of this run's inputs is too large to compare.")
    return data


def _dims(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _read_table(raw: bytes, spec: dict) -> pd.DataFrame:
    """A data table as Calliope reads it: one header line per `columns` dimension, one index column per
    `rows` dimension."""
    rows, columns = _dims(spec.get("rows")), _dims(spec.get("columns"))
    header = list(range(len(columns))) if columns else [0]
    index_col = list(range(len(rows))) if rows else None
    frame = pd.read_csv(io.BytesIO(raw), header=header, index_col=index_col)
    if columns:
        frame.columns = frame.columns.set_names(columns) if len(columns) == frame.columns.nlevels \
            else frame.columns
    return frame


def _option_values(run: Run, view: RunView) -> dict[str, str]:
    if run.subset_start and run.subset_end:
        dates = run.subset_start if run.subset_start == run.subset_end else f"{run.subset_start} to {run.subset_end}"
    else:
        dates = "the model's own period"
    cluster = getattr(run, "cluster_days", None)
    return {
        "Scenario": view.scenario_name,
        "Solver": "HiGHS" if view.solver == "highs" else view.solver.upper(),
        "Dates": dates,
        "Time steps": f"every {run.resample}" if run.resample else "as the data",
        "Time clustering": f"{cluster} representative days" if cluster else "none",
    }


def run_option_changes(first: Run, second: Run, views: list[RunView]) -> list[InputChange]:
    a, b = _option_values(first, views[0]), _option_values(second, views[1])
    return [InputChange(section="Run options", subject=key, what=key.lower(), first=a[key], second=b[key],
                        text=f"{key}: {a[key]} → {b[key]}") for key in a if a[key] != b[key]]


def input_changes(first: Run, second: Run, options: list[InputChange]) -> tuple[list[InputChange], str]:
    paths = [artefact_path(run, INPUTS_ARTEFACT, "inputs.zip") for run in (first, second)]
    lacking = [run.id for run, path in zip((first, second), paths) if path is None]
    if lacking:
        which = " and ".join(f"#{i}" for i in lacking)
        return [], (f"Run {which} was solved before Engage kept each run's inputs, so only the run options can be "
                    "compared. Run it again to compare parameters, nodes and data too.")
    try:
        a, b = _Inputs(paths[0]), _Inputs(paths[1])
    except EngageError as exc:
        return [], f"{exc.message} Only the run options are compared."
    except Exception as exc:  # a zip or YAML we cannot read: say so, the results still compare
        return [], f"The inputs of these runs could not be read ({type(exc).__name__}), so only the run options " \
                   "are compared."
    shown_options = {change.subject for change in options}
    changes = definition_changes(a.definition, b.definition, shown_options)
    changes += _table_changes(a, b)
    changes += _file_changes(a.files, b.files)
    return changes, ""


def _is_indexed(value: Any) -> bool:
    return isinstance(value, dict) and "data" in value and set(value) <= {"data", "index", "dims"}


def _indexed_items(value: dict) -> list[tuple[str, Any]]:
    """{data: [1, 2], index: [[monetary], [co2]], dims: [costs]} -> [("monetary", 1), ("co2", 2)]."""
    index, data = value.get("index"), value.get("data")
    if index is None:
        return [("", data)]
    keys = [", ".join(str(k) for k in item) if isinstance(item, list) else str(item)
            for item in (index if isinstance(index, list) else [index])]
    if isinstance(data, list) and len(data) == len(keys):
        return list(zip(keys, data))
    return [(key, data) for key in keys]


def flatten(tree: Any, prefix: tuple = ()) -> dict[tuple, Any]:
    """Leaves of a YAML tree by key path; indexed values become one leaf per index (an _Index key)."""
    if _is_indexed(tree):
        return {prefix + ((_Index(key),) if key else ()): value for key, value in _indexed_items(tree)}
    if isinstance(tree, dict) and tree:
        out: dict[tuple, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, prefix + (str(key),)))
        return out
    if isinstance(tree, dict):
        return {}  # an empty mapping says only that the key exists (e.g. a tech placed at a node)
    return {prefix: tree}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    return a == b


def _text(value: Any) -> str:
    if value is _MISSING:
        return NOT_SET
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "none"
    return parameters.default_text(value)


_MISSING = object()


def _what(path: tuple) -> tuple[str, str]:
    """("cost_flow_cap", _Index("monetary")) -> ("cost_flow_cap (monetary)", Calliope's title)."""
    names = [p for p in path if not isinstance(p, _Index)]
    index = [p for p in path if isinstance(p, _Index)]
    what = ".".join(names) + (f" ({', '.join(index)})" if index else "")
    return what, _title(names[0]) if len(names) == 1 else ""


def _title(name: str) -> str:
    try:
        return parameters.catalogue_entry(name).title
    except Exception:  # not a technology parameter (e.g. a location's latitude), or no catalogue
        return ""


def _leaf_changes(a: dict, b: dict, *, section: str, subject: str, text_subject: str | None = None,
                  where: str = "") -> list[InputChange]:
    """The changed leaves of two flattened subtrees; `active` is told as switched on/off."""
    out = []
    flat_a, flat_b = flatten(a), flatten(b)
    for path in sorted(set(flat_a) | set(flat_b), key=lambda p: tuple(str(x) for x in p)):
        va, vb = flat_a.get(path, _MISSING), flat_b.get(path, _MISSING)
        if va is not _MISSING and vb is not _MISSING and _same(va, vb):
            continue
        if path == ("active",):
            on_a, on_b = va is not False, vb is not False
            if on_a == on_b:
                continue
            state = "switched on" if on_b else "switched off"
            out.append(InputChange(section=section, subject=subject, what="switched on/off",
                                   first="on" if on_a else "off", second="on" if on_b else "off",
                                   text=f"{text_subject or subject}: {state}{where}"))
            continue
        what, title = _what(path)
        first, second = _text(va), _text(vb)
        out.append(InputChange(section=section, subject=subject, what=what, first=first, second=second,
                               text=f"{subject}: {what} {first} → {second}", title=title))
    return out


def _presence(section: str, subject: str, in_first: bool, text_added: str, text_removed: str) -> InputChange:
    return InputChange(section=section, subject=subject, what="present",
                       first="yes" if in_first else "no", second="no" if in_first else "yes",
                       text=f"{subject}: {text_removed if in_first else text_added}")


def definition_changes(a: dict, b: dict, shown_options: set[str] = frozenset()) -> list[InputChange]:
    """What differs between two Calliope definitions (model.yaml as dicts), in planner words; config keys
    of run options in `shown_options` ("Dates", "Solver", ...) are left to the run options."""
    changes: list[InputChange] = []
    techs_a, techs_b = a.get("techs") or {}, b.get("techs") or {}
    for tech in _keys(techs_a, techs_b):
        spec = techs_b.get(tech) if tech in techs_b else techs_a.get(tech)
        link = _link_label(spec)
        section = "Nodes and links" if link else "Technologies"
        subject = f"{tech} ({link})" if link else tech
        if (tech in techs_a) != (tech in techs_b):
            changes.append(_presence(section, subject, tech in techs_a, "added to the model", "removed from the model"))
            continue
        changes += _leaf_changes(techs_a[tech] or {}, techs_b[tech] or {}, section=section, subject=subject,
                                 where="" if link else " everywhere")

    nodes_a, nodes_b = a.get("nodes") or {}, b.get("nodes") or {}
    for node in _keys(nodes_a, nodes_b):
        if (node in nodes_a) != (node in nodes_b):
            changes.append(_presence("Nodes and links", node, node in nodes_a, "location added", "location removed"))
            continue
        node_a, node_b = dict(nodes_a[node] or {}), dict(nodes_b[node] or {})
        placed_a, placed_b = node_a.pop("techs", None) or {}, node_b.pop("techs", None) or {}
        changes += _leaf_changes(node_a, node_b, section="Nodes and links", subject=node,
                                 where=" (everything there)")
        for tech in _keys(placed_a, placed_b):
            subject = f"{tech} at {node}"
            if (tech in placed_a) != (tech in placed_b):
                changes.append(_presence("Nodes and links", subject, tech in placed_a, f"placed at {node}",
                                         f"no longer at {node}"))
                continue
            changes += _leaf_changes(placed_a[tech] or {}, placed_b[tech] or {}, section="Nodes and links",
                                     subject=subject, text_subject=tech, where=f" at {node}")

    changes += _leaf_changes(a.get("data_definitions") or {}, b.get("data_definitions") or {},
                             section="Model settings", subject="Whole model")
    config_a, config_b = a.get("config") or {}, b.get("config") or {}
    for step in _keys(config_a, config_b):
        part_a, part_b = dict(config_a.get(step) or {}), dict(config_b.get(step) or {})
        for (config_step, key), option in _RUN_OPTION_CONFIG.items():
            if config_step == step and option in shown_options:
                part_a.pop(key, None)
                part_b.pop(key, None)
        changes += _leaf_changes(part_a, part_b, section="Model settings", subject=f"config.{step}")
    known = {"techs", "nodes", "data_definitions", "config", "data_tables"}
    for key in _keys(a, b):
        if key not in known:
            changes += _leaf_changes({key: a[key]} if key in a else {}, {key: b[key]} if key in b else {},
                                     section="Model settings", subject=key)
    return changes


def _keys(a: dict, b: dict) -> list[str]:
    return list(dict.fromkeys([*a, *b]))


def _link_label(spec: Any) -> str:
    if isinstance(spec, dict) and spec.get("link_from") and spec.get("link_to"):
        return f"link {spec['link_from']} – {spec['link_to']}"
    return ""


def _table_changes(a: _Inputs, b: _Inputs) -> list[InputChange]:
    changes = []
    specs_a, specs_b = a.definition.get("data_tables") or {}, b.definition.get("data_tables") or {}
    for name in _keys(specs_a, specs_b):
        subject = f"data table {name}"
        if (name in specs_a) != (name in specs_b):
            changes.append(_presence("Data tables", subject, name in specs_a, "added", "removed"))
            continue
        changes += _leaf_changes(specs_a[name] or {}, specs_b[name] or {}, section="Data tables", subject=subject)
        if name in a.tables and name in b.tables:
            changes += _column_changes(name, a.tables[name], b.tables[name])
    return changes


def _column_subject(table: str, label: Any, names: list) -> tuple[str, str]:
    """A column's (subject, what): ("demand_power at region1", "sink_use_equals") for techs/nodes/inputs."""
    parts = list(label) if isinstance(label, tuple) else [label]
    named = {str(n): str(p) for n, p in zip(names, parts) if n is not None}
    tech, node = named.pop("techs", ""), named.pop("nodes", "")
    rest = [v for v in named.values()] or ([] if named or tech or node else [str(p) for p in parts])
    subject = f"{tech} at {node}" if tech and node else tech or node or f"data table {table}"
    return subject, ", ".join(rest) or table


def _column_changes(table: str, a: pd.DataFrame, b: pd.DataFrame) -> list[InputChange]:
    changes = []
    names = list(a.columns.names)
    for label in _keys(dict.fromkeys(a.columns), dict.fromkeys(b.columns)):
        subject, what = _column_subject(table, label, names)
        if (label in a.columns) != (label in b.columns):
            changes.append(_presence("Data tables", f"{subject}: {what}", label in a.columns,
                                     f"added in table {table}", f"removed from table {table}"))
            continue
        col_a, col_b = a[label], b[label]
        if isinstance(col_a, pd.DataFrame) or isinstance(col_b, pd.DataFrame):  # a repeated label
            col_a, col_b = col_a.iloc[:, 0], col_b.iloc[:, 0]
        summary = _series_summary(col_a, col_b)
        if summary is None:
            continue
        first, second, detail = summary
        changes.append(InputChange(section="Data tables", subject=subject, what=what, first=first, second=second,
                                   text=f"{subject}: {what} {first} → {second}, {detail}", title=_title(what)))
    return changes


def _series_summary(a: pd.Series, b: pd.Series) -> tuple[str, str, str] | None:
    """(first, second, detail) of two columns that differ; None when they are the same."""
    index = a.index.union(b.index, sort=False)
    a, b = a.reindex(index), b.reindex(index)
    num_a, num_b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    numeric = (num_a.notna() | a.isna()).all() and (num_b.notna() | b.isna()).all()
    if numeric:
        both_nan = num_a.isna() & num_b.isna()
        close = (num_a - num_b).abs() <= 1e-9 + 1e-9 * num_b.abs()
        differ = ~(both_nan | close)
    else:
        differ = ~((a.isna() & b.isna()) | (a.astype(str) == b.astype(str)))
    count = int(differ.sum())
    if count == 0:
        return None
    where = f", first at {index[differ.to_numpy().argmax()]}" if len(index) > 1 else ""
    detail = f"{count:,} of {len(index):,} values differ{where}"
    if numeric:
        return f"total {_total(num_a.sum())}", f"total {_total(num_b.sum())}", detail
    return "", "", detail


def _total(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"


def _file_changes(a: dict[str, Any], b: dict[str, Any]) -> list[InputChange]:
    changes = []
    for name in _keys(a, b):
        if (name in a) != (name in b):
            changes.append(_presence("Math", name, name in a, "file added", "file removed"))
        elif isinstance(a[name], (bytes, str)) or isinstance(b[name], (bytes, str)):
            if a[name] != b[name]:
                changes.append(InputChange(section="Math", subject=name, what="content", first="", second="",
                                           text=f"{name}: changed"))
        else:
            changes += _leaf_changes({"": a[name]} if not isinstance(a[name], dict) else a[name],
                                     {"": b[name]} if not isinstance(b[name], dict) else b[name],
                                     section="Math", subject=name)
    return changes
