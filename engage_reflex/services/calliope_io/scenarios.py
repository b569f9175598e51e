"""Scenarios: on import, Calliope overrides and `scenarios:` become `Scenario` rows whose
overrides are diffs against Engage's definition; on export, a scenario is applied to the
base definition."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from engage_reflex.models import Scenario, ScenarioLink, ScenarioNode
from engage_reflex.services.calliope_io.loading import _math_files, _Tables, _with_math_paths
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
    """A "base" scenario, then one per representable override and per `scenarios:` entry."""
    overrides = dict(raw.get("overrides") or {})
    scenario_lists = dict(raw.get("scenarios") or {})
    session.add(Scenario(model_id=model_id, name=BASE_SCENARIO,
                         description="The model as imported, with no overrides."))
    names = {BASE_SCENARIO}
    warnings: list[str] = []
    base_definition = _definition(base)
    candidates = [(name, "override", [name]) for name in overrides]
    candidates += [(name, "scenario", None) for name in scenario_lists]
    for name, kind, sources in candidates:
        if name in names:
            warnings.append(f"Skipped {kind} `{name}`: a scenario with that name already exists.")
            continue
        try:
            sources = sources or _expand_scenario(name, scenario_lists, overrides)
            diff = _scenario_overrides(raw, name, base_definition, tables, yaml_path, files)
        except EngageError as exc:
            warnings.append(f"Skipped {kind} `{name}`: {exc.message}")
            continue
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
                        yaml_path: Path, files: dict[str, str]) -> dict:
    """What applying `name` the Calliope way changes, as an override on Engage's definition."""
    from calliope.preprocess.model_definition import _load_scenario_overrides

    with _calliope_errors("Calliope rejects it"):
        applied, _ = _load_scenario_overrides(copy.deepcopy(dict(raw)), name)
    applied = _plain(applied)
    if applied.get("data_tables") != raw.get("data_tables"):
        raise EngageError("it changes data_tables, which need files Engage does not keep "
                          "for overrides.")
    resolved = _resolve(applied, tables, known=None, with_series=False)
    new_files, math_paths = _math_files(resolved.config, yaml_path)
    if any(files.get(path) != content for path, content in new_files.items()):
        raise EngageError("it needs math files that the model itself does not use.")
    resolved.config = _with_math_paths(resolved.config, math_paths)
    return _diff(base_definition, _definition(resolved), ())


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
    """Switch nodes/links off, then settings, then the scenario's overrides (Calliope's union)."""
    from calliope.attrdict import AttrDict

    for row in session.exec(select(ScenarioNode).where(ScenarioNode.scenario_id == scenario.id)):
        location, tech = exporter.node_names.get(row.node_id, (None, None))
        if location is not None:
            _set_active(definition["nodes"][location]["techs"][tech], row.active)
    for row in session.exec(select(ScenarioLink).where(ScenarioLink.scenario_id == scenario.id)):
        name = exporter.link_names.get(row.link_id)
        if name is not None:
            _set_active(definition["techs"][name], row.active)
    for path, value in (scenario.settings or {}).items():
        definition.union(AttrDict({path: _from_json(value)}), allow_override=True,
                         allow_replacement=True)
    if scenario.overrides:
        definition.union(AttrDict(_from_json(copy.deepcopy(scenario.overrides))),
                         allow_override=True, allow_replacement=True)
    return definition


def _set_active(target: dict, active: bool) -> None:
    if not active:
        target["active"] = False
    elif target.get("active") is False:
        target["active"] = True
