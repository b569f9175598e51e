"""Reading a model folder: model.yaml with its imports, Calliope's own loading of the
model (whatever it rejects, Engage rejects), the data tables as Calliope merged them, and
custom math files."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from engage_reflex.services.calliope_io.confine import ModelFolder
from engage_reflex.services.calliope_io.values import (
    TABLE_TECH_DEFINITION_VARS,
    _calliope_errors,
    _plain,
    _scalar,
)
from engage_reflex.services.errors import EngageError


# -------------------------------------------------------------------------- reading


def _model_yaml_path(path: Path) -> Path:
    """model.yaml in a folder (or the YAML file given), in the model's folder as resolved.

    Only the folder is resolved: a model.yaml that is a symbolic link is checked (and
    refused if it leads outside the folder) when it is read.
    """
    path = Path(path).absolute()
    if path.is_dir():
        yaml_path = path.resolve() / "model.yaml"
        if not os.path.lexists(yaml_path):
            raise EngageError(f"There is no model.yaml in {path}.")
        return yaml_path
    if not os.path.lexists(path):
        raise EngageError(f"There is no folder or file at {path}.")
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise EngageError(f"{path.name} is not a YAML file.")
    return path.parent.resolve() / path.name


class _NoYamlDump(logging.Filter):
    """Calliope logs the whole text of a YAML file it cannot parse; we report it briefly."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Parser error when reading YAML")


logging.getLogger("calliope.io").addFilter(_NoYamlDump())


def _read_yaml(yaml_path: Path):
    """The whole definition with `import:` resolved (an AttrDict), read by `confine`:
    bounded, and refused if it names any file outside the model's folder."""
    return ModelFolder.for_yaml(yaml_path).read_model(yaml_path)


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
    # Items of each dimension (but techs, nodes, timesteps) when Calliope merged the YAML
    # data into the tables': a table value fills a YAML value over more dims at each of them.
    coords: dict[str, list] = dataclasses.field(default_factory=dict)


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

    folder = ModelFolder.for_yaml(yaml_path)
    _check_math_files(raw, yaml_path, folder)  # before Calliope reads them (and their imports)
    with _calliope_errors("Calliope cannot load this model"):
        attrs = prepare_model_definition(copy.deepcopy(raw), definition_path=yaml_path)
        priority = model_math.get_math_priority(attrs.config.init)
        built_math = model_math.build_math(
            priority, attrs.math.init, validate=attrs.config.init.pre_validate_math_strings)
    tables = [_data_table(DataTable, name, table, yaml_path, folder)
              for name, table in attrs.definition.data_tables.root.items()]
    with _calliope_errors("Calliope cannot load this model"):
        builder = ModelDataBuilder(attrs.config.init, attrs.definition, built_math, tables)
        tech_data, table_nodes, table_dataset = (
            builder.tech_data_from_tables, builder.model_definition.nodes, builder.dataset)
        builder.add_node_tech_data()  # builder.build(), in two steps
        coords = _extra_coords(builder.dataset)
        builder.add_top_level_data_definitions()
        attrs = attrs.update({"math.build": built_math, "runtime.math_priority": priority})
        Model(inputs=builder.dataset, attrs=attrs)  # Calliope's own checks (time subset, ...)
    return _Loaded(
        tables=dataclasses.replace(_tables_from(tables, tech_data, table_nodes, table_dataset),
                                   coords=coords),
        known=_math_names(attrs.math.init.model_dump()),
    )


def _extra_coords(dataset) -> dict[str, list]:
    return {str(dim): [_scalar(item) for item in dataset.coords[dim].values]
            for dim in dataset.dims if dim not in ("techs", "nodes", "timesteps")}


def _check_math_files(raw: dict, yaml_path: Path, folder: ModelFolder) -> None:
    """Read each custom math file (with its imports) the confined, bounded way first."""
    math_paths = ((raw.get("config") or {}).get("init") or {}).get("math_paths") or {}
    if not isinstance(math_paths, dict):
        raise EngageError("config.init.math_paths must map math names to file names.")
    for key, value in math_paths.items():
        folder.read_yaml_file(value, key=f"config.init.math_paths.{key}", where=yaml_path)


def _data_table(data_table_type, name: str, table, yaml_path: Path, folder: ModelFolder):
    """Calliope's DataTable of one table, its file checked first and its errors named."""
    key = f"data_tables.{name}.table"
    file = table.table
    if ".csv" not in Path(file).suffixes:
        raise EngageError(f"{key}: {file} is not a .csv file; Engage reads data tables from CSV "
                          "files in the model's folder.")
    folder.check_table(file, key=key)
    try:
        loaded = data_table_type(name, table, None, yaml_path)
        data = loaded.dataset
        if not data.data_vars or all(bool(data[v].isnull().all()) for v in data.data_vars):
            raise EngageError(f"{key}: the data table {file} has no data (only its header?).")
        return loaded
    except EngageError:
        raise
    except Exception as exc:  # pandas, xarray or Calliope on a CSV that does not fit
        from engage_reflex.services.calliope_io.values import _calliope_message

        reason = _calliope_message(exc)
        if type(exc).__name__ == "EmptyDataError":
            reason = "the file is empty"
        elif isinstance(exc, UnicodeDecodeError):
            reason = "the file is not UTF-8 text; save it with the UTF-8 encoding"
        raise EngageError(f"{key}: Engage cannot read the data table {file}: {reason[:300]}") from exc


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
    """Custom math files (path relative to the model folder -> text) and their new paths.

    Only files inside the model folder are read (`confine`); their path relative to the
    folder is kept."""
    math_paths = ((config.get("init") or {}).get("math_paths")) or {}
    files: dict[str, str] = {}
    new_paths: dict[str, str] = {}
    folder = ModelFolder.for_yaml(yaml_path)
    for key, rel in math_paths.items():
        name = f"config.init.math_paths.{key}"
        source = folder.inside(rel, key=name, where=None)
        content = folder.read_text(source, key=name, where=None, value=str(rel))
        stored = source.relative_to(folder.root).as_posix()
        files[stored] = content
        new_paths[key] = stored
    return files, new_paths


def _with_math_paths(config: dict, math_paths: dict[str, str]) -> dict:
    if not math_paths:
        return config
    config = copy.deepcopy(config)
    config.setdefault("init", {})["math_paths"] = dict(math_paths)
    return config
