"""Scenarios: on import, Calliope overrides and `scenarios:` become `Scenario` rows whose
overrides are diffs against Engage's definition; on export, a scenario is applied to the
base definition."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from engage_reflex.models import ModelFile, Scenario, ScenarioLink, ScenarioNode
from engage_reflex.services.calliope_io.loading import (
    _collect_table_values,
    _math_files,
    _Tables,
    _with_math_paths,
)
from engage_reflex.services.calliope_io.resolve import _definition, _resolve, _Resolved
from engage_reflex.services.calliope_io.values import (
    BASE_SCENARIO,
    _calliope_errors,
    _from_json,
    _plain,
    _to_json,
)
from engage_reflex.services.errors import EngageError

if TYPE_CHECKING:
    from engage_reflex.services.calliope_io.exporter import _Exporter


# --------------------------------------------------------------------- scenarios


@dataclasses.dataclass
class _ScenarioResult:
    count: int
    warnings: list[str]


def _import_scenarios(session: Session, model_id: int, raw: dict, base: _Resolved,
                      tables: _Tables, yaml_path: Path, files: dict[str, str]) -> _ScenarioResult:
    """A "base" scenario, then one per representable override and per `scenarios:` entry.

    Data tables an override adds are kept with their data: the CSV's text is stored as a
    model file (kind "data_table") at its path in the model folder, where the override's
    `table:` names it, so an export anywhere writes it back next to model.yaml.
    """
    overrides = dict(raw.get("overrides") or {})
    scenario_lists = dict(raw.get("scenarios") or {})
    session.add(Scenario(model_id=model_id, name=BASE_SCENARIO,
                         description="The model as imported, with no overrides."))
    names = {BASE_SCENARIO}
    warnings: list[str] = []
    table_files: dict[str, str] = {}
    base_definition = _definition(base)
    candidates = [(name, "override", [name]) for name in overrides]
    candidates += [(name, "scenario", None) for name in scenario_lists]
    for name, kind, sources in candidates:
        if name in names:
            warnings.append(f"Skipped {kind} `{name}`: a scenario with that name already exists.")
            continue
        try:
            sources = sources or _expand_scenario(name, scenario_lists, overrides)
            diff, new_files = _scenario_overrides(raw, name, base_definition, tables, yaml_path,
                                                  files)
        except EngageError as exc:
            warnings.append(f"Skipped {kind} `{name}`: {exc.message}")
            continue
        for path, content in new_files.items():
            if path not in table_files and path not in files:
                session.add(ModelFile(model_id=model_id, path=path, kind="data_table",
                                      content=content))
                table_files[path] = content
        session.add(Scenario(
            model_id=model_id, name=name, overrides=_to_json(diff), source_overrides=sources,
            description=f"Calliope {kind} `{name}`" + (
                f" ({', '.join(sources)})" if kind == "scenario" else "")))
        names.add(name)
    session.flush()
    return _ScenarioResult(len(names), warnings)


def _expand_scenario(name: str, scenarios: dict, overrides: dict, seen=()) -> list[str]:
    """The override names of a `scenarios:` entry, in order (entries may name entries)."""
    result: list[str] = []
    items = scenarios[name]
    for item in items if isinstance(items, list) else [items]:
        if not isinstance(item, str):
            raise EngageError("a scenario must be a list of override names.")
        if item in scenarios and item not in seen and item != name:
            expanded = _expand_scenario(item, scenarios, overrides, (*seen, name))
        elif item in overrides:
            expanded = [item]
        else:
            raise EngageError(f"it names the override `{item}`, which does not exist.")
        result += [e for e in expanded if e not in result]
    return result


def _scenario_overrides(raw: dict, name: str, base_definition: dict, tables: _Tables,
                        yaml_path: Path, files: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """What applying `name` the Calliope way changes, as an override on Engage's definition,
    and the data-table files it adds (path -> text)."""
    from calliope.preprocess.model_definition import _load_scenario_overrides

    with _calliope_errors("Calliope rejects it"):
        applied, _ = _load_scenario_overrides(copy.deepcopy(dict(raw)), name)
    applied = _plain(applied)
    added_tables: dict[str, dict] = {}
    table_files: dict[str, str] = {}
    if applied.get("data_tables") != raw.get("data_tables"):
        try:
            added_tables, table_files = _added_tables(raw, applied, tables, yaml_path)
        except _OwnTablesChanged:
            # The model's own tables are folded into Engage's rows; this scenario gives
            # every table back as a data table instead (see _all_tables).
            tables = _Tables(tech_defs={}, node_techs={}, values={}, sources={})
            added_tables, table_files = _all_tables(applied, yaml_path)
    resolved = _resolve(applied, tables, known=None, with_series=False)
    new_files, math_paths = _math_files(resolved.config, yaml_path)
    if any(files.get(path) != content for path, content in new_files.items()):
        raise EngageError("it needs math files that the model itself does not use.")
    resolved.config = _with_math_paths(resolved.config, math_paths)
    diff = _diff(base_definition, _definition(resolved), ())
    if added_tables:
        diff["data_tables"] = added_tables
    return diff, table_files


class _OwnTablesChanged(EngageError):
    """The override changes the model's own data tables, or adds one that sets a value
    they set: Engage's rows (the own tables folded in) cannot keep Calliope's order."""


def _all_tables(applied: dict, yaml_path: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """Every data table of the model with the override applied, in Calliope's order, with
    the text of their files, as a `_REPLACE_` of the export's `data_tables`.

    With them, the scenario's YAML layer is the model's own YAML (no table values folded
    in), so the export is the original tables over the original YAML: Calliope's order.
    """
    tables: dict[str, dict] = {}
    files: dict[str, str] = {}
    for name, definition in (applied.get("data_tables") or {}).items():
        tables[name], stored, text = _table_file(name, definition, yaml_path)
        files[stored] = text
    return {"_REPLACE_": tables}, files


def _table_file(name: str, definition: dict, yaml_path: Path) -> tuple[dict, str, str]:
    """A data table's definition with its file stored under the model folder, the stored
    path, and the file's text."""
    from engage_reflex.services.calliope_io.confine import ModelFolder

    folder = ModelFolder.for_yaml(yaml_path)
    key = f"data_tables.{name}.table"
    table = definition.get("table")
    if ".csv" not in Path(str(table)).suffixes:
        raise EngageError(f"`{key}` is {table}, not a CSV file; `calliope run` cannot read "
                          "it either.")
    path = folder.inside(table, key=key, where=None, relative_to=folder.root)
    stored = path.relative_to(folder.root).as_posix()
    text = folder.read_text(path, key=key, where=None, value=str(table))
    return {**copy.deepcopy(definition), "table": stored}, stored, text


def _added_tables(raw: dict, applied: dict, tables: _Tables,
                  yaml_path: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """The data tables an override adds, with the text of their files.

    They stay data tables in the export, after the model's own (Calliope's order: a later
    table wins). The model's own tables are folded into Engage's rows, so an override that
    changes one of them, or adds a table setting a value they set, raises _OwnTablesChanged
    (the scenario then gives every table back: _all_tables).
    """
    from calliope.preprocess.data_tables import DataTable
    from calliope.schemas.data_table_schema import CalliopeDataTable

    from engage_reflex.services.calliope_io.confine import ModelFolder

    own = raw.get("data_tables") or {}
    new = applied.get("data_tables") or {}
    changed = [name for name in own if new.get(name) != own[name]]
    if changed:
        raise _OwnTablesChanged(
            f"it changes the model's own data table(s) {', '.join(changed)}; Engage keeps "
            "overrides that add data tables, not ones that change the model's tables.")
    folder = ModelFolder.for_yaml(yaml_path)
    added: dict[str, dict] = {}
    files: dict[str, str] = {}
    values: dict[tuple, object] = {}
    for name, definition in new.items():
        if name in own:
            continue
        added[name], stored, files[stored] = _table_file(name, definition, yaml_path)
        with _calliope_errors(f"data_tables.{name}"):
            loaded = DataTable(name, CalliopeDataTable(**added[name]), None, folder.root / "model.yaml")
            for var in loaded.dataset.data_vars:
                _collect_table_values(str(var), loaded.dataset[var], values)
    clash = sorted({key for key in values if key in tables.values and tables.values[key].plain},
                   key=str)
    if clash:
        described = ", ".join(_describe_key(key) for key in clash[:5])
        raise _OwnTablesChanged(f"it adds data tables that set {described}, which the model's own data "
                          "tables set too; Engage cannot keep that order of tables.")
    return added, files


def _describe_key(key: tuple) -> str:
    tech, node, param = key
    where = " at ".join(part for part in (tech, node) if part)
    return f"`{param}`" + (f" of {where}" if where else "")


def _descend(path: tuple) -> bool:
    """Containers the diff walks into; below them a value (a parameter) is replaced whole."""
    if not path or path[0] == "config":
        return True
    depth = len(path)
    return (
        (path[0] in ("techs", "nodes", "data_definitions") and depth == 1)
        or (path[0] == "techs" and depth == 2)
        or (path[0] == "nodes" and depth == 2)
        or (path[0] == "nodes" and depth == 3 and path[2] == "techs")
        or (path[0] == "nodes" and depth == 4 and path[2] == "techs")
    )


def _diff(base: dict, new: dict, path: tuple) -> dict:
    """An override that turns `base` into `new` under AttrDict.union(allow_override,
    allow_replacement) -- Calliope's own override semantics."""
    if set(base) - set(new):
        return {"_REPLACE_": copy.deepcopy(new)}
    out: dict[str, Any] = {}
    for key, value in new.items():
        if key not in base:
            out[key] = copy.deepcopy(value)
        elif base[key] == value:
            continue
        elif isinstance(value, dict) and isinstance(base[key], dict) and _descend((*path, key)):
            sub = _diff(base[key], value, (*path, key))
            if sub:
                out[key] = sub
        else:
            out[key] = _replacement(base[key], value)
    return out


def _replacement(old: Any, new: Any) -> Any:
    # union() merges dicts key by key, skips None over a dict, and cannot put a dict over
    # a scalar: `_REPLACE_` makes each of those a plain replacement.
    if isinstance(old, dict) and isinstance(new, dict) and set(old) <= set(new):
        return copy.deepcopy(new)
    if isinstance(old, dict) or isinstance(new, dict):
        return {"_REPLACE_": copy.deepcopy(new)}
    return copy.deepcopy(new)


# ------------------------------------------------------------------ apply on export


def _apply_scenario(session: Session, definition, scenario: Scenario, exporter: _Exporter):
    """Switch nodes/links off, then the scenario's overrides (Calliope's union), then its settings."""
    from calliope.attrdict import AttrDict

    for row in session.exec(select(ScenarioNode).where(ScenarioNode.scenario_id == scenario.id)):
        location, tech = exporter.node_names.get(row.node_id, (None, None))
        if location is not None:
            _set_active(definition["nodes"][location]["techs"][tech], row.active)
    for row in session.exec(select(ScenarioLink).where(ScenarioLink.scenario_id == scenario.id)):
        name = exporter.link_names.get(row.link_id)
        if name is not None:
            _set_active(definition["techs"][name], row.active)
    if scenario.overrides:
        if "data_tables" in scenario.overrides:
            definition.setdefault("data_tables", AttrDict())  # `_REPLACE_` needs the key
        definition.union(AttrDict(_from_json(copy.deepcopy(scenario.overrides))),
                         allow_override=True, allow_replacement=True)
        if not definition.get("data_tables", True):
            del definition["data_tables"]
    # The typed settings last: what the planner set on the Scenarios page wins over an imported
    # override of the same setting.
    for path, value in (scenario.settings or {}).items():
        definition.union(AttrDict({path: _from_json(value)}), allow_override=True,
                         allow_replacement=True)
    return definition


def _set_active(target: dict, active: bool) -> None:
    if not active:
        target["active"] = False
    elif target.get("active") is False:
        target["active"] = True
