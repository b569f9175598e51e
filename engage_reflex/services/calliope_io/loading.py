"""Reading a model folder: model.yaml with its imports, Calliope's own loading of the
model (whatever it rejects, Engage rejects), the data tables as Calliope merged them, and
custom math files."""

from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from engage_reflex.services.calliope_io.values import (
    TABLE_TECH_DEFINITION_VARS,
    _calliope_errors,
    _plain,
    _scalar,
)
from engage_reflex.services.errors import EngageError


# -------------------------------------------------------------------------- reading


def _model_yaml_path(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / "model.yaml"
        if not path.is_file():
            raise EngageError(f"There is no model.yaml in {path.parent}.")
        return path.resolve()
    if not path.is_file():
        raise EngageError(f"There is no folder or file at {path}.")
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise EngageError(f"{path.name} is not a YAML file.")
    return path.resolve()


class _NoYamlDump(logging.Filter):
    """Calliope logs the whole text of a YAML file it cannot parse; we report it briefly."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Parser error when reading YAML")


logging.getLogger("calliope.io").addFilter(_NoYamlDump())


def _read_yaml(yaml_path: Path):
    """The whole definition with `import:` resolved (an AttrDict)."""
    import calliope
    from ruamel.yaml import YAMLError

    try:
        return calliope.io.read_rich_yaml(yaml_path)
    except (YAMLError, ValueError) as exc:
        bad = _first_unparsable(yaml_path) or yaml_path
        raise EngageError(f"{_relative_name(bad, yaml_path)} is not valid YAML: {_short(exc)}") from exc
    except OSError as exc:
        raise EngageError(f"{yaml_path.name}: cannot read an imported file: {_short(exc)}") from exc


def _first_unparsable(path: Path, seen: frozenset = frozenset()) -> Path | None:
    """Which file (the model or one it imports) does not parse: ruamel cannot tell us."""
    import ruamel.yaml as ruamel_yaml

    try:
        loaded = ruamel_yaml.YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except Exception:
        return path
    if not isinstance(loaded, dict):
        return path
    imports = loaded.get("import") or []
    for item in imports if isinstance(imports, list) else []:
        child = (path.parent / str(item)).resolve()
        if child not in seen and child.is_file():
            bad = _first_unparsable(child, seen | {path})
            if bad is not None:
                return bad
    return None


def _relative_name(path: Path, yaml_path: Path) -> str:
    try:
        return path.relative_to(yaml_path.parent).as_posix()
    except ValueError:
        return str(path)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).replace('in "<unicode string>", ', "")
    return text[:300]


# ------------------------------------------------------------------------ tables


@dataclasses.dataclass
class _TableValue:
    """One table variable for one (tech, node): plain values or timeseries by index."""

    dims: tuple[str, ...]
    plain: dict[tuple, Any] = dataclasses.field(default_factory=dict)
    series: dict[tuple, pd.Series] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Tables:
    tech_defs: dict[str, dict]  # technology keys defined in tables (base_tech, carriers, ...)
    node_techs: dict[str, list[str]]  # techs placed at nodes by table data
    values: dict[tuple[str | None, str | None, str], _TableValue]  # (tech, node, param)
    sources: dict[str, str]  # param -> table file(s)


@dataclasses.dataclass
class _Loaded:
    tables: _Tables
    known: set[str]  # parameter names of every math file the model can use


def _load_with_calliope(raw: dict, yaml_path: Path) -> _Loaded:
    """Let Calliope load the model (whatever it rejects, Engage rejects) and keep what we need.

    These are the steps of `calliope.read_dict` (0.7.0), run one by one so that the data
    tables, merged in Calliope's order, can be kept before the YAML data joins them.
    """
    from calliope.model import Model
    from calliope.preprocess import model_math
    from calliope.preprocess.data_tables import DataTable
    from calliope.preprocess.model_data import ModelDataBuilder
    from calliope.preprocess.model_definition import prepare_model_definition

    with _calliope_errors("Calliope cannot load this model"):
        attrs = prepare_model_definition(copy.deepcopy(raw), definition_path=yaml_path)
        priority = model_math.get_math_priority(attrs.config.init)
        built_math = model_math.build_math(
            priority, attrs.math.init, validate=attrs.config.init.pre_validate_math_strings)
        tables = [
            DataTable(name, table, None, yaml_path)
            for name, table in attrs.definition.data_tables.root.items()
        ]
        builder = ModelDataBuilder(attrs.config.init, attrs.definition, built_math, tables)
        tech_data, table_nodes, table_dataset = (
            builder.tech_data_from_tables, builder.model_definition.nodes, builder.dataset)
        builder.build()
        attrs = attrs.update({"math.build": built_math, "runtime.math_priority": priority})
        Model(inputs=builder.dataset, attrs=attrs)  # Calliope's own checks (time subset, ...)
    return _Loaded(
        tables=_tables_from(tables, tech_data, table_nodes, table_dataset),
        known=_math_names(attrs.math.init.model_dump()),
    )


def _math_names(all_math: dict) -> set[str]:
    names: set[str] = set()
    for definition in all_math.values():
        for section in ("parameters", "lookups", "dimensions"):
            names.update((definition.get(section) or {}).keys())
    return names


def _tables_from(tables: list, tech_data, table_nodes, dataset) -> _Tables:
    if not tables:
        return _Tables({}, {}, {}, {})
    tech_defs = {
        tech: _plain(definition)
        for tech, definition in tech_data.model_dump(exclude_unset=True).items()
    }
    node_techs = {node: list(definition.techs.root) for node, definition in table_nodes.root.items()}
    sources: dict[str, list[str]] = {}
    for table in tables:
        for var in table.dataset.data_vars:
            sources.setdefault(str(var), []).append(str(table.input.table))
    values: dict[tuple, _TableValue] = {}
    for var in dataset.data_vars:
        if _is_table_tech_definition(str(var), dataset[var].dims):
            continue  # Calliope moved it into the techs (tech_defs above)
        _collect_table_values(str(var), dataset[var], values)
    return _Tables(tech_defs, node_techs, values, {k: ", ".join(v) for k, v in sources.items()})


def _is_table_tech_definition(var: str, dims: tuple) -> bool:
    return var in TABLE_TECH_DEFINITION_VARS or (var == "active" and tuple(dims) == ("techs",))


def _collect_table_values(var: str, array, values: dict) -> None:
    """Split one merged table variable into values per (tech, node, param)."""
    dims = [str(d) for d in array.dims]
    if not dims:
        if not pd.isna(array.item()):
            values[(None, None, var)] = _TableValue((), plain={(): _scalar(array.item())})
        return
    series = array.to_series().dropna()
    if series.empty:
        return
    extra = tuple(d for d in dims if d not in ("techs", "nodes", "timesteps"))
    owner = [d for d in ("techs", "nodes") if d in dims]
    frame = series.rename("value").reset_index()
    if "timesteps" in dims:
        _collect_series(var, frame, owner, extra, values)
    else:
        for row in frame.itertuples(index=False):
            row = row._asdict()
            key = (row.get("techs"), row.get("nodes"), var)
            entry = values.setdefault(key, _TableValue(extra))
            entry.plain[tuple(_scalar(row[d]) for d in extra)] = _scalar(row["value"])


def _collect_series(var: str, frame: pd.DataFrame, owner: list, extra: tuple, values: dict) -> None:
    if frame["value"].dtype.kind not in "fiub":
        raise EngageError(f"data_tables: `{var}` varies over time but is not numeric.")
    group_by = owner + list(extra)
    groups = frame.groupby(group_by, sort=False) if group_by else [((), frame)]
    for keys, group in groups:
        keys = keys if isinstance(keys, tuple) else (keys,)
        named = dict(zip(group_by, keys, strict=True))
        key = (named.get("techs"), named.get("nodes"), var)
        entry = values.setdefault(key, _TableValue(extra))
        series = pd.Series(
            group["value"].astype(float).to_numpy(),
            index=pd.DatetimeIndex(group["timesteps"]),
        ).sort_index()
        entry.series[tuple(_scalar(named[d]) for d in extra)] = series


# ----------------------------------------------------------------------- math files


def _math_files(config: dict, yaml_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Custom math files (path relative to the model folder -> text) and their new paths."""
    math_paths = ((config.get("init") or {}).get("math_paths")) or {}
    files: dict[str, str] = {}
    new_paths: dict[str, str] = {}
    base = yaml_path.parent
    for key, rel in math_paths.items():
        source = Path(rel) if Path(rel).is_absolute() else (base / rel)
        try:
            content = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise EngageError(f"config.init.math_paths.{key}: cannot read {rel}.") from exc
        try:
            stored = source.resolve().relative_to(base).as_posix()
        except ValueError:  # outside the model folder: keep it next to model.yaml
            stored = f"math/{source.name}"
        files[stored] = content
        new_paths[key] = stored
    return files, new_paths


def _with_math_paths(config: dict, math_paths: dict[str, str]) -> dict:
    if not math_paths:
        return config
    config = copy.deepcopy(config)
    config.setdefault("init", {})["math_paths"] = dict(math_paths)
    return config
