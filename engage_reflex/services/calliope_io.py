"""The bridge between the database and Calliope 0.7 model definitions.

Import reads a model folder with Calliope's own loaders (`read_rich_yaml` for `import:`,
`TemplateSolver` for `templates:`, `DataTable` and `ModelDataBuilder` for `data_tables:`)
and stores it in the Engage schema. Export rebuilds a definition Calliope accepts from
the database and applies a scenario. Calliope knowledge lives here and in
jobs/calliope_runner.py only; this module never imports reflex.

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
* Model-level `data_definitions` stay model-level; Calliope applies them after everything.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session, select

from engage_reflex.models import (
    ActivityLog,
    Carrier,
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
    TechnologyCarrier,
    TechParameter,
    Technology,
    Timeseries,
    User,
)
from engage_reflex.schemas import ImportReport
from engage_reflex.services import access
from engage_reflex.services.errors import EngageError, NotFound

BASE_SCENARIO = "base"
SOLVERS = ("highs", "cbc", "glpk")
CARRIER_KEYS = {"carrier_in": "in", "carrier_out": "out", "carrier_export": "export"}
# Keys that describe a technology rather than parameterise it; they have columns.
IDENTITY_KEYS = {"base_tech", "name", "color", "description", *CARRIER_KEYS}
LINK_KEYS = ("link_from", "link_to")
# Technology keys Calliope accepts that its math files do not list.
EXTRA_TECH_KEYS = {*IDENTITY_KEYS, *LINK_KEYS}
LOCATION_COLUMNS = ("latitude", "longitude", "available_area")
# Table variables that define technologies; Calliope moves them into the YAML definition.
TABLE_TECH_DEFINITION_VARS = {"base_tech", "link_to", "link_from", "one_way"}
INF_TEXT = {math.inf: "inf", -math.inf: "-inf"}
TEXT_INF = {"inf": math.inf, "-inf": -math.inf}


# --------------------------------------------------------------------------- values


def _to_json(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars to Python, +-inf to text, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return INF_TEXT[value]
    return value


def _from_json(value: Any) -> Any:
    """Inverse of `_to_json` (the only lossy step, NaN -> None, means the same to Calliope)."""
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, str) and value in TEXT_INF:
        return TEXT_INF[value]
    return value


def _plain(value: Any) -> Any:
    """Plain dicts/lists/Python scalars (no AttrDict, tuples or numpy types)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _raw_text(value: Any) -> str:
    """How a value reads back to a planner (the `raw` column)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return INF_TEXT[value]
    return str(value)[:400]


# ---------------------------------------------------------------- canonical params
#
# A canonical parameter value is either a scalar or
# {"data": v | [v, ...], "index": [[...], ...], "dims": [...]} with one data item per
# index item (a single item is kept scalar). Rows are (index tuple, value) pairs.


@dataclasses.dataclass(frozen=True)
class _Param:
    dims: tuple[str, ...]
    rows: dict[tuple, Any]


def _to_param(path: str, value: Any) -> _Param:
    """Rows of a YAML parameter value (scalar or indexed data)."""
    if not isinstance(value, dict):
        if isinstance(value, list):
            raise EngageError(f"{path}: a list needs `index` and `dims` (write it as indexed data).")
        return _Param((), {(): _scalar(value)})
    from calliope.schemas.dimension_data_schema import IndexedData

    try:
        parsed = IndexedData.model_validate(dict(value))
    except Exception as exc:  # pydantic.ValidationError
        raise EngageError(f"{path}: {_calliope_message(exc)}") from exc
    dims = tuple(parsed.dims)
    if not dims:
        return _Param((), {(): _scalar(parsed.data)})
    index = [tuple(_scalar(i) for i in item) for item in parsed.index]
    data = parsed.data if isinstance(parsed.data, list) else [parsed.data] * len(index)
    if len(data) != len(index):
        raise EngageError(f"{path}: {len(data)} data values for {len(index)} index items.")
    if any(len(item) != len(dims) for item in index):
        raise EngageError(f"{path}: every index item needs one entry per dimension {list(dims)}.")
    return _Param(dims, {item: _scalar(v) for item, v in zip(index, data, strict=True)})


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _from_param(param: _Param) -> Any:
    """The canonical YAML value of a parameter."""
    if not param.dims:
        return param.rows[()]
    index = [list(item) for item in param.rows]
    data = list(param.rows.values())
    return {"data": data[0] if len(data) == 1 else data, "index": index, "dims": list(param.dims)}


def _canonical(path: str, value: Any) -> Any:
    return _from_param(_to_param(path, value))


def _merge_param(base: Any, override: Any) -> Any:
    """Calliope's merge of a node's tech value over the tech's: dicts merge key by key
    (so `cost_flow_cap.data: 43.1` keeps the tech's index and dims), anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **override}
    return override


def _covers(path: str, value: Any, dims: tuple, index: tuple) -> bool:
    """Does a YAML value define `index` (of a table variable over `dims`)?"""
    if value is None:
        return False
    param = _to_param(path, value)
    if not param.dims:
        return param.rows[()] is not None
    if not set(param.dims) <= set(dims):
        raise EngageError(
            f"{path}: given over {list(param.dims)} in YAML but over {list(dims)} in a data table; "
            "Engage cannot combine the two."
        )
    projected = tuple(index[dims.index(d)] for d in param.dims)
    return param.rows.get(projected) is not None


def _fill(path: str, yaml_value: Any, table: _Param) -> Any:
    """Calliope's rule: YAML values win, table values fill what YAML leaves undefined."""
    if yaml_value is None:
        return _from_param(table)
    param = _to_param(path, yaml_value)
    if not param.dims:
        return yaml_value if param.rows[()] is not None else _from_param(table)
    if set(param.dims) != set(table.dims):
        raise EngageError(
            f"{path}: given over {list(param.dims)} in YAML but over {list(table.dims)} in a data "
            "table; Engage cannot combine the two."
        )
    order = [table.dims.index(d) for d in param.dims]
    rows = dict(param.rows)
    for index, value in table.rows.items():
        index = tuple(index[i] for i in order)
        if rows.get(index) is None:
            rows[index] = value
    return _from_param(_Param(param.dims, rows))


# ------------------------------------------------------------------ errors, reading

# Parts of a pydantic error location that name a type of a union, not a key of the model.
_TYPE_TAG = re.compile(r"^(str|int|float|bool|none|Indexed\w*|Calliope\w*|constrained-\w+|"
                       r"[a-z-]+\[.*\])$")


def _calliope_message(exc: BaseException) -> str:
    """Readable text for Calliope's ModelError / pydantic ValidationError / others."""
    if isinstance(exc, KeyError) and exc.args and re.fullmatch(r"[\w.-]+", str(exc.args[0])):
        return f"`{exc.args[0]}` is not defined"
    try:
        items = exc.errors()  # pydantic.ValidationError
    except Exception:
        items = None
    if isinstance(exc, AttributeError) and (m := re.search(r"has no attribute '(\w+)'", str(exc))):
        # Calliope's internals look up inputs the model never defines (e.g. no tech has carrier_in).
        return (f"nothing in the model defines `{m[1]}`; a model needs at least one technology "
                "that supplies and one that consumes each carrier")
    if not items:
        text = " ".join(str(exc).split())
        while len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":  # KeyError's repr quotes
            text = text[1:-1]
        return text or type(exc).__name__
    by_path: dict[str, list[str]] = {}
    for err in items:
        keys = [str(p) for p in err.get("loc", ()) if not (isinstance(p, str) and _TYPE_TAG.match(p))]
        if keys[:1] == ["definition"]:  # Calliope's wrapper; the planner's YAML has no such key
            keys = keys[1:]
        by_path.setdefault(".".join(keys), []).append(err.get("msg", ""))
    # The deepest locations say most; a location with one message per union member only
    # says that no member fits.
    deepest = [p for p in by_path if not any(o != p and o.startswith(p + ".") for o in by_path)]
    parts = []
    for path in deepest[:3]:
        msgs = by_path[path]
        text = msgs[0] if len(msgs) == 1 else "not a valid value"
        parts.append(f"{path}: {text}" if path else text)
    return "; ".join(parts)


@contextlib.contextmanager
def _calliope_errors(what: str) -> Iterator[None]:
    """Turn whatever Calliope raises into one EngageError a planner can read."""
    try:
        yield
    except EngageError:
        raise
    except Exception as exc:
        raise EngageError(f"{what}: {_calliope_message(exc)}") from exc


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


# ----------------------------------------------------------------------- resolve


@dataclasses.dataclass
class _SeriesRef:
    level: str  # "model" | "tech" | "node"
    tech: str | None
    node: str | None
    param: str
    dims: tuple[str, ...]
    index: tuple
    series: pd.Series
    source: str


@dataclasses.dataclass
class _Resolved:
    """A model as Calliope sees it, in Engage's shape (templates resolved, tables folded in)."""

    config: dict
    data_definitions: dict[str, Any]
    techs: dict[str, dict]  # identity keys + canonical params (+ link_from/link_to)
    nodes: dict[str, dict]  # attributes + "techs": {tech: {param: canonical}}
    link_templates: dict[str, str]  # link -> transmission template it shares
    templates: dict[str, dict]  # template name -> resolved, canonical definition
    series: list[_SeriesRef]


def _resolve(raw: dict, tables: _Tables, *, known: set[str] | None, with_series: bool) -> _Resolved:
    """Resolve templates and fold table values in, keeping Calliope's precedence.

    With `known` (parameter names of the math), YAML keys outside it are refused.
    """
    from calliope.attrdict import AttrDict
    from calliope.preprocess.model_definition import TemplateSolver
    from calliope.schemas import CalliopeConfig, CalliopeModelDef

    with _calliope_errors("Calliope rejects the model"):
        solver = TemplateSolver(AttrDict(copy.deepcopy(raw)))
        resolved = _plain(solver.resolved_data)
        config = resolved.pop("config", {}) or {}
        CalliopeConfig(**copy.deepcopy(config))
        CalliopeModelDef(**copy.deepcopy(resolved))
    raw_techs = raw.get("techs") or {}
    techs = _resolve_techs(resolved.get("techs") or {}, tables.tech_defs)
    model = _Resolved(
        config=config,
        data_definitions={
            name: _canonical(f"data_definitions.{name}", value)
            for name, value in (resolved.get("data_definitions") or {}).items()
        },
        techs=techs,
        nodes={},
        link_templates=_link_templates(raw_techs, solver, techs),
        templates={},
        series=[],
    )
    model.nodes = _resolve_nodes(resolved.get("nodes") or {}, tables.node_techs, techs)
    model.templates = {
        name: _canonical_tech(f"templates.{name}", _plain(solver.resolved_templates[name]))
        for name in set(model.link_templates.values())
    }
    if known is not None:
        _check_known_keys(model, known)
    _fold_plain_table_values(model, tables)
    if with_series:
        _attach_series(model, tables)
    return model


def _resolve_techs(yaml_techs: dict, table_defs: dict) -> dict[str, dict]:
    techs = {}
    for name in [*yaml_techs, *(t for t in table_defs if t not in yaml_techs)]:
        # Calliope: tech keys from tables sit under the YAML definition.
        merged = {**table_defs.get(name, {}), **(yaml_techs.get(name) or {})}
        techs[name] = _canonical_tech(f"techs.{name}", merged)
    return techs


def _canonical_tech(path: str, definition: dict) -> dict:
    out: dict[str, Any] = {}
    for key, value in definition.items():
        if key == "template":
            continue
        if key in CARRIER_KEYS:
            out[key] = _carrier_list(f"{path}.{key}", value)
        elif key in IDENTITY_KEYS or key in LINK_KEYS:
            if isinstance(value, dict | list):
                raise EngageError(f"{path}.{key}: must be a single value, not indexed data.")
            out[key] = value
        else:
            out[key] = _canonical(f"{path}.{key}", value)
    return out


def _carrier_list(path: str, value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise EngageError(f"{path}: must be a carrier name or a list of carrier names.")
    return list(items)


def _link_templates(raw_techs: dict, solver, techs: dict) -> dict[str, str]:
    """Links that share a transmission template (it becomes their Technology)."""
    shared = {}
    for name, definition in techs.items():
        if not all(definition.get(k) for k in LINK_KEYS):
            continue
        template = (raw_techs.get(name) or {}).get("template")
        if not isinstance(template, str) or template in techs:
            continue
        resolved = _plain(solver.resolved_templates.get(template, {}))
        if resolved.get("base_tech") != "transmission" or any(k in resolved for k in LINK_KEYS):
            continue
        # A link that changes what the template *is* cannot share its Technology.
        same_identity = all(
            _carrier_list("", resolved.get(k)) == definition.get(k, []) for k in CARRIER_KEYS
        ) and definition.get("base_tech") == "transmission"
        if same_identity:
            shared[name] = template
    return shared


def _resolve_nodes(yaml_nodes: dict, table_node_techs: dict, techs: dict) -> dict[str, dict]:
    nodes: dict[str, dict] = {}
    for name in [*yaml_nodes, *(n for n in table_node_techs if n not in yaml_nodes)]:
        definition = dict(yaml_nodes.get(name) or {})
        node_techs = dict(definition.pop("techs", None) or {})
        for tech in table_node_techs.get(name, []):
            node_techs.setdefault(tech, None)
        resolved_techs = {}
        for tech, overrides in node_techs.items():
            if tech not in techs:
                raise EngageError(f"nodes.{name}.techs.{tech}: there is no technology `{tech}`.")
            resolved_techs[tech] = {
                key: _canonical(
                    f"nodes.{name}.techs.{tech}.{key}",
                    _merge_param(copy.deepcopy(techs[tech].get(key)), value),
                )
                for key, value in (overrides or {}).items()
            }
        nodes[name] = {**_plain(definition), "techs": resolved_techs}
    return nodes


def _check_known_keys(model: _Resolved, known: set[str]) -> None:
    """Refuse keys no math file defines: Calliope would silently ignore a typo."""
    keys = [(f"techs.{tech}", key) for tech, d in model.techs.items() for key in d]
    keys += [(f"nodes.{node}.techs.{tech}", key) for node, d in model.nodes.items()
             for tech, params in d["techs"].items() for key in params]
    for path, key in keys:
        if key not in known and key not in EXTRA_TECH_KEYS:
            raise EngageError(
                f"{path}.{key}: `{key}` is not a parameter of Calliope's math or of this "
                "model's math files (check the spelling)."
            )


def _fold_plain_table_values(model: _Resolved, tables: _Tables) -> None:
    """Non-timeseries table values become YAML-layer values under the YAML ones."""
    for (tech, node, param), value in tables.values.items():
        if not value.plain:
            continue
        table = _Param(value.dims, value.plain)
        if tech is None and node is None:
            path = f"data_definitions.{param}"
            model.data_definitions[param] = _fill(path, model.data_definitions.get(param), table)
        elif tech is None:
            _fold_into_location(model, node, param, table)
        elif node is None:
            _fold_into_tech(model, tech, param, table)
        else:
            _fold_into_node(model, node, tech, param, table)


def _fold_into_location(model: _Resolved, node: str, param: str, table: _Param) -> None:
    if node not in model.nodes:
        return
    attrs = model.nodes[node]
    attrs[param] = _fill(f"nodes.{node}.{param}", attrs.get(param), table)


def _fold_into_tech(model: _Resolved, tech: str, param: str, table: _Param) -> None:
    if tech not in model.techs:
        return
    _refuse_model_level_clash(model, param, f"techs.{tech}.{param}")
    definition = model.techs[tech]
    definition[param] = _fill(f"techs.{tech}.{param}", definition.get(param), table)
    # A node's own YAML value replaces the tech's, so the table must fill it too.
    for node, attrs in model.nodes.items():
        own = attrs["techs"].get(tech)
        if own is not None and param in own:
            own[param] = _fill(f"nodes.{node}.techs.{tech}.{param}", own[param], table)


def _fold_into_node(model: _Resolved, node: str, tech: str, param: str, table: _Param) -> None:
    own = model.nodes.get(node, {}).get("techs", {}).get(tech)
    if own is None:
        return  # tech not at this node: Calliope drops the value too
    _refuse_model_level_clash(model, param, f"nodes.{node}.techs.{tech}.{param}")
    current = own.get(param, model.techs[tech].get(param))
    filled = _fill(f"nodes.{node}.techs.{tech}.{param}", current, table)
    if filled != current:
        own[param] = filled


def _refuse_model_level_clash(model: _Resolved, param: str, path: str) -> None:
    if param in model.data_definitions:
        raise EngageError(
            f"{path}: also given in data_definitions; Engage cannot keep Calliope's order for it."
        )


def _attach_series(model: _Resolved, tables: _Tables) -> None:
    """Timeseries rows, minus the index items a YAML value overrides (Calliope's order)."""
    for (tech, node, param), value in tables.values.items():
        for index, series in value.series.items():
            ref = _SeriesRef("model", tech, node, param, value.dims, index, series,
                             tables.sources.get(param, ""))
            if tech is None and node is None:
                _keep_model_series(model, ref)
            elif tech is None:
                raise EngageError(
                    f"data_tables ({ref.source}): `{param}` varies over time per node without a "
                    "technology; Engage stores timeseries for technologies only."
                )
            elif node is None:
                _keep_tech_series(model, ref)
            else:
                _keep_node_series(model, ref)


def _keep_model_series(model: _Resolved, ref: _SeriesRef) -> None:
    path = f"data_definitions.{ref.param}"
    if not _covers(path, model.data_definitions.get(ref.param), ref.dims, ref.index):
        model.series.append(ref)


def _keep_node_series(model: _Resolved, ref: _SeriesRef) -> None:
    own = model.nodes.get(ref.node, {}).get("techs", {}).get(ref.tech)
    if own is None:
        return
    path = f"nodes.{ref.node}.techs.{ref.tech}.{ref.param}"
    value = own.get(ref.param, model.techs[ref.tech].get(ref.param))
    if not _covers(path, value, ref.dims, ref.index):
        model.series.append(dataclasses.replace(ref, level="node"))


def _keep_tech_series(model: _Resolved, ref: _SeriesRef) -> None:
    if ref.tech not in model.techs:
        return
    tech_value = model.techs[ref.tech].get(ref.param)
    path = f"techs.{ref.tech}.{ref.param}"
    if not _covers(path, tech_value, ref.dims, ref.index):
        model.series.append(dataclasses.replace(ref, level="tech"))
        return
    # The tech's own value wins, except at nodes whose own value replaces it without
    # defining this index item: there Calliope still uses the table, so keep it there.
    for node, attrs in model.nodes.items():
        own = attrs["techs"].get(ref.tech)
        if own is None or ref.param not in own:
            continue
        node_path = f"nodes.{node}.techs.{ref.tech}.{ref.param}"
        if not _covers(node_path, own[ref.param], ref.dims, ref.index):
            model.series.append(dataclasses.replace(ref, level="node", node=node))


def _definition(model: _Resolved) -> dict:
    """The YAML layer of a resolved model, in the exact shape export produces."""
    # Transmission techs reach Calliope only as links (export skips unlinked ones too).
    techs = {name: _tech_for_export(d) for name, d in model.techs.items()
             if d.get("base_tech") != "transmission" or all(d.get(k) for k in LINK_KEYS)}
    nodes = {}
    for name, attrs in model.nodes.items():
        node = {k: v for k, v in attrs.items() if k not in ("techs", "description")}
        node["techs"] = {tech: dict(params) for tech, params in attrs["techs"].items()}
        nodes[name] = node
    return {
        "config": copy.deepcopy(model.config),
        "data_definitions": copy.deepcopy(model.data_definitions),
        "techs": techs,
        "nodes": nodes,
    }


def _tech_for_export(definition: dict) -> dict:
    out = {}
    for key, value in definition.items():
        if key == "description" or (key in CARRIER_KEYS and not value):
            continue
        if key in ("name", "color") and not value:
            continue
        out[key] = copy.deepcopy(value)
    return out


# ------------------------------------------------------------------------ import


def import_model_directory(
    *,
    session: Session,
    path: Path,
    owner_id: int,
    name: str | None = None,
    is_public: bool = False,
) -> ImportReport:
    """Import a Calliope 0.7 model folder (or YAML file) as a new model of `owner_id`.

    Flushes but does not commit: the caller's transaction commits, or rolls the whole
    import back if anything here raises.
    """
    yaml_path = _model_yaml_path(Path(path))
    raw = _read_yaml(yaml_path)
    if session.get(User, owner_id) is None:
        raise NotFound(f"There is no user with id {owner_id}.")
    model_name = _model_name(name, raw, yaml_path)
    _refuse_duplicate_name(session, owner_id, model_name)
    loaded = _load_with_calliope(raw, yaml_path)
    tables = loaded.tables
    raw_core = _plain({k: v for k, v in raw.items() if k not in ("overrides", "scenarios")})
    resolved = _resolve(raw_core, tables, known=loaded.known, with_series=True)
    files, math_paths = _math_files(resolved.config, yaml_path)
    resolved.config = _with_math_paths(resolved.config, math_paths)

    model = EnergyModel(
        name=model_name, owner_id=owner_id, is_public=is_public,
        calliope_config=_to_json(resolved.config),
    )
    session.add(model)
    session.flush()
    writer = _ModelWriter(session, model.id)
    writer.write(resolved)
    for rel_path, content in files.items():
        session.add(ModelFile(model_id=model.id, path=rel_path, kind="math", content=content))
    scenarios = _import_scenarios(session, model.id, raw, resolved, tables, yaml_path, files)
    session.add(ActivityLog(model_id=model.id, user_id=owner_id, action="imported",
                            detail=f"Imported from {yaml_path}"))
    session.flush()
    return ImportReport(
        model_id=model.id, name=model_name, locations=writer.counts["locations"],
        technologies=writer.counts["technologies"], nodes=writer.counts["nodes"],
        links=writer.counts["links"], timeseries=writer.counts["timeseries"],
        scenarios=scenarios.count, warnings=writer.warnings + scenarios.warnings,
    )


def _model_name(name: str | None, raw: dict, yaml_path: Path) -> str:
    chosen = (name or "").strip()
    if not chosen:
        chosen = str(((raw.get("config") or {}).get("init") or {}).get("name") or "").strip()
    if not chosen:
        chosen = yaml_path.parent.name
    if len(chosen) > 200:
        raise EngageError("A model name can have at most 200 characters.")
    return chosen


def _refuse_duplicate_name(session: Session, owner_id: int, name: str) -> None:
    existing = session.exec(
        select(EnergyModel.id).where(EnergyModel.owner_id == owner_id, EnergyModel.name == name)
    ).first()
    if existing is not None:
        raise EngageError(f"You already have a model called “{name}”. Choose another name.")


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


class _ModelWriter:
    """Writes a resolved model into the tables of one EnergyModel."""

    def __init__(self, session: Session, model_id: int):
        self.session = session
        self.model_id = model_id
        self.carriers: dict[str, int] = {}
        self.technologies: dict[str, int] = {}
        self.locations: dict[str, int] = {}
        self.nodes: dict[tuple[str, str], int] = {}
        self.links: dict[str, tuple[int, int]] = {}  # link -> (link id, technology id)
        self.counts = dict.fromkeys(
            ("locations", "technologies", "nodes", "links", "timeseries"), 0)
        self.warnings: list[str] = []

    def write(self, model: _Resolved) -> None:
        self._write_carriers(model)
        self._write_technologies(model)
        self._write_locations(model)
        self._write_nodes(model)
        self._write_links(model)
        self._write_model_parameters(model)
        self._write_series(model)

    def _flush(self, row):
        self.session.add(row)
        self.session.flush()
        return row.id

    def _write_carriers(self, model: _Resolved) -> None:
        names: list[str] = []
        for definition in [*model.techs.values(), *model.templates.values()]:
            for key in CARRIER_KEYS:
                names += [c for c in definition.get(key, []) if c not in names]
        for name in names:
            self.carriers[name] = self._flush(Carrier(model_id=self.model_id, name=name))

    def _write_technologies(self, model: _Resolved) -> None:
        for name, definition in model.techs.items():
            if not self._is_link(definition):
                self._add_technology(name, definition)
        for name, definition in model.techs.items():
            if self._is_link(definition) and name not in model.link_templates:
                self._add_technology(name, {k: v for k, v in definition.items()
                                            if k not in LINK_KEYS})
        for template in dict.fromkeys(model.link_templates.values()):
            self._add_technology(template, model.templates[template])

    @staticmethod
    def _is_link(definition: dict) -> bool:
        return all(definition.get(k) for k in LINK_KEYS)

    def _add_technology(self, name: str, definition: dict) -> None:
        base_tech = definition.get("base_tech")
        if base_tech not in ("supply", "demand", "storage", "conversion", "transmission"):
            raise EngageError(f"techs.{name}.base_tech: missing or not one of Calliope's base techs.")
        tech_id = self._flush(Technology(
            model_id=self.model_id, name=name, base_tech=base_tech,
            display_name=str(definition.get("name") or ""), color=str(definition.get("color") or ""),
            description=str(definition.get("description") or ""),
        ))
        self.technologies[name] = tech_id
        self.counts["technologies"] += 1
        for key, role in CARRIER_KEYS.items():
            for position, carrier in enumerate(definition.get(key, [])):
                self.session.add(TechnologyCarrier(
                    technology_id=tech_id, carrier_id=self.carriers[carrier], role=role,
                    position=position))
        for param, value in definition.items():
            if param not in IDENTITY_KEYS and param not in LINK_KEYS:
                self._add_rows(TechParameter, {"technology_id": tech_id}, param, value)

    def _add_rows(self, table, owner: dict, name: str, value: Any, timeseries_id=None,
                  dims: tuple = (), index: tuple = ()) -> None:
        if timeseries_id is not None:
            rows = {tuple(index): None}
        else:
            param = _to_param(name, value)
            dims, rows = param.dims, param.rows
        for item, item_value in rows.items():
            self.session.add(table(
                **owner, name=name, value=_to_json(item_value), dims=list(dims),
                index=_to_json(list(item)), index_key="|".join(str(i) for i in item),
                timeseries_id=timeseries_id,
                raw=None if timeseries_id is not None else _raw_text(item_value),
            ))

    def _write_locations(self, model: _Resolved) -> None:
        for name, attrs in model.nodes.items():
            columns = {k: attrs.get(k) for k in LOCATION_COLUMNS
                       if isinstance(attrs.get(k), int | float) and not isinstance(attrs.get(k), bool)}
            extra = {k: v for k, v in attrs.items()
                     if k not in columns and k not in ("techs", "description")}
            self.locations[name] = self._flush(Location(
                model_id=self.model_id, name=name, description=str(attrs.get("description") or ""),
                extra=_to_json(extra), **columns))
            self.counts["locations"] += 1

    def _write_nodes(self, model: _Resolved) -> None:
        for location, attrs in model.nodes.items():
            for tech, params in attrs["techs"].items():
                node_id = self._flush(Node(
                    model_id=self.model_id, location_id=self.locations[location],
                    technology_id=self.technologies[tech]))
                self.nodes[(location, tech)] = node_id
                self.counts["nodes"] += 1
                for param, value in params.items():
                    self._add_rows(NodeParameter, {"node_id": node_id}, param, value)

    def _write_links(self, model: _Resolved) -> None:
        for name, definition in model.techs.items():
            if not self._is_link(definition):
                continue
            ends = [definition[k] for k in LINK_KEYS]
            missing = [end for end in ends if end not in self.locations]
            if missing:
                self.warnings.append(
                    f"techs.{name}: links to undefined node(s) {missing}; Calliope ignores "
                    "such a link, so it was not imported.")
                continue
            template = model.link_templates.get(name)
            tech_name = template or name
            link_id = self._flush(Link(
                model_id=self.model_id, name=name, technology_id=self.technologies[tech_name],
                from_location_id=self.locations[ends[0]], to_location_id=self.locations[ends[1]]))
            self.links[name] = (link_id, self.technologies[tech_name])
            self.counts["links"] += 1
            if template:
                self._write_link_parameters(link_id, definition, model.templates[template])

    def _write_link_parameters(self, link_id: int, definition: dict, template: dict) -> None:
        """The link's own keys: those whose value differs from the shared technology's."""
        for key, value in definition.items():
            if key in LINK_KEYS or key in CARRIER_KEYS or key in ("base_tech", "description"):
                continue
            if key not in template or template[key] != value:
                self._add_rows(LinkParameter, {"link_id": link_id}, key, value)

    def _write_model_parameters(self, model: _Resolved) -> None:
        for name, value in model.data_definitions.items():
            self._add_rows(ModelParameter, {"model_id": self.model_id}, name, value)

    def _write_series(self, model: _Resolved) -> None:
        stored: dict[int, int] = {}  # id(series) -> Timeseries id (one series, many rows)
        for ref in model.series:
            owner = self._series_owner(ref)
            if owner is None:
                continue
            table, owner_fields = owner
            ts_id = stored.get(id(ref.series))
            if ts_id is None:
                ts_id = self._flush(self._timeseries_row(ref))
                stored[id(ref.series)] = ts_id
                self.counts["timeseries"] += 1
            self._add_rows(table, owner_fields, ref.param, None, timeseries_id=ts_id,
                           dims=ref.dims, index=ref.index)

    def _series_owner(self, ref: _SeriesRef):
        if ref.level == "model":
            return ModelParameter, {"model_id": self.model_id}
        if ref.level == "node":
            node_id = self.nodes.get((ref.node, ref.tech))
            return None if node_id is None else (NodeParameter, {"node_id": node_id})
        if ref.tech in self.links:
            link_id, tech_id = self.links[ref.tech]
            if tech_id == self.technologies.get(ref.tech):  # link with a technology of its own
                return TechParameter, {"technology_id": tech_id}
            return LinkParameter, {"link_id": link_id}
        tech_id = self.technologies.get(ref.tech)
        return None if tech_id is None else (TechParameter, {"technology_id": tech_id})

    def _timeseries_row(self, ref: _SeriesRef) -> Timeseries:
        series = ref.series.dropna()
        suffix = f"[{','.join(str(i) for i in ref.index)}]" if ref.index else ""
        owner = {"model": "", "tech": f"{ref.tech}:", "node": f"{ref.tech}@{ref.node}:"}[ref.level]
        stamps = _iso_strings(series.index)
        return Timeseries(
            model_id=self.model_id, name=f"{owner}{ref.param}{suffix}"[:200],
            description=f"{ref.param} from data table {ref.source}"[:2000],
            source_filename=ref.source[:300],
            start=_utc(series.index[0]) if len(series) else None,
            end=_utc(series.index[-1]) if len(series) else None,
            length=len(series), timestamps=stamps, values=series.to_numpy(dtype=float).tolist(),
        )


def _iso_strings(index: pd.DatetimeIndex) -> list[str]:
    if index.tz is None:  # the usual case, and 50x faster than isoformat() per stamp
        return np.datetime_as_string(index.to_numpy(), unit="s").tolist()
    return [stamp.isoformat() for stamp in index]


def _utc(stamp: pd.Timestamp):
    # Model time has no zone; the column needs one, so the wall-clock time is kept as UTC.
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


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


# ------------------------------------------------------------------------ export


@dataclasses.dataclass
class ModelDefinition:
    """A Calliope model ready for `calliope.read_dict` or `calliope run`."""

    definition: dict
    dataframes: dict[str, pd.DataFrame]
    files: dict[str, str]
    name: str

    def write_directory(self, path: Path) -> Path:
        """model.yaml + data_tables/*.csv + math files; returns the model.yaml path."""
        import calliope

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        definition = copy.deepcopy(self.definition)
        for table_name, df in self.dataframes.items():
            rel = f"data_tables/{table_name}.csv"
            (path / "data_tables").mkdir(exist_ok=True)
            df.to_csv(path / rel)
            for table in definition.get("data_tables", {}).values():
                if table.get("table") == table_name:
                    table["table"] = rel
        for rel, content in self.files.items():
            target = path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        model_yaml = path / "model.yaml"
        calliope.io.to_yaml(definition, path=model_yaml)
        return model_yaml

    def input_hash(self) -> str:
        """sha256 over definition, data and files: identical inputs, identical hash."""
        digest = hashlib.sha256()
        canonical = json.dumps(_to_json(self.definition), sort_keys=True, separators=(",", ":"))
        digest.update(canonical.encode())
        for table_name in sorted(self.dataframes):
            digest.update(f"\0table:{table_name}\0".encode())
            digest.update(self.dataframes[table_name].to_csv().encode())
        for rel in sorted(self.files):
            digest.update(f"\0file:{rel}\0".encode())
            digest.update(self.files[rel].encode())
        return digest.hexdigest()


def export_scenario(
    *,
    session: Session,
    scenario_id: int,
    user_id: int | None = None,
    subset: tuple[str, str] | None = None,
    resample: str | None = None,
    solver: str = "highs",
) -> ModelDefinition:
    """Rebuild the Calliope definition of a scenario from the database."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"There is no scenario with id {scenario_id}.")
    if user_id is not None:
        model = access.require_view(session=session, user_id=user_id, model_id=scenario.model_id)
    else:
        model = session.get(EnergyModel, scenario.model_id)
    runtime = _runtime_overrides(subset, resample, solver)
    exporter = _Exporter(session, model)
    definition, dataframes = exporter.build()
    definition = _apply_scenario(session, definition, scenario, exporter)
    definition.union(runtime, allow_override=True)
    return ModelDefinition(definition=_plain(definition), dataframes=dataframes,
                           files=exporter.files(), name=model.name)


def _runtime_overrides(subset, resample, solver: str):
    from calliope.attrdict import AttrDict

    out = AttrDict()
    if solver not in SOLVERS:
        raise EngageError(f"Unknown solver “{solver}”. Choose one of: {', '.join(SOLVERS)}.")
    if solver == "highs":
        out.set_key("config.build.backend", "highs")
    else:
        out.set_key("config.build.backend", "pyomo")
        out.set_key("config.solve.solver", solver)
    if subset is not None:
        out.set_key("config.init.subset.timesteps", list(_check_subset(subset)))
    if resample:
        out.set_key("config.init.resample.timesteps", _check_resample(resample))
    return out


def _check_subset(subset) -> tuple[str, str]:
    if len(subset) != 2:
        raise EngageError("A time subset needs a start and an end date.")
    start, end = (str(v).strip() for v in subset)
    parsed = []
    for value in (start, end):
        try:
            parsed.append(pd.Timestamp(value))
        except (ValueError, TypeError):
            raise EngageError(f"“{value}” is not a date (use YYYY-MM-DD).") from None
        if pd.isna(parsed[-1]):
            raise EngageError(f"“{value}” is not a date (use YYYY-MM-DD).")
    if parsed[0] > parsed[1]:
        raise EngageError(f"The start date {start} is after the end date {end}.")
    return start, end


def _check_resample(resample: str) -> str:
    try:
        pd.tseries.frequencies.to_offset(resample)
    except (ValueError, TypeError):
        raise EngageError(f"“{resample}” is not a time resolution (e.g. 3h, 6h, 1D).") from None
    return resample


class _Exporter:
    """Reads one model's rows and builds the base definition and its data tables."""

    def __init__(self, session: Session, model: EnergyModel):
        self.session = session
        self.model = model
        self.series_columns: dict[tuple, dict[tuple, int]] = {}
        self.node_names: dict[int, tuple[str, str]] = {}
        self.link_names: dict[int, str] = {}

    def files(self) -> dict[str, str]:
        rows = self.session.exec(select(ModelFile).where(ModelFile.model_id == self.model.id)
                                 .order_by(ModelFile.id)).all()
        return {row.path: row.content for row in rows}

    def build(self) -> tuple[dict, dict[str, pd.DataFrame]]:
        from calliope.attrdict import AttrDict

        techs, link_techs = self._technologies()
        definition = {
            "config": _from_json(copy.deepcopy(self.model.calliope_config)),
            "data_definitions": self._model_parameters(),
            "techs": {**techs, **self._links(link_techs)},
            "nodes": self._nodes(),
        }
        dataframes = self._dataframes()
        if dataframes:
            definition["data_tables"] = {
                name: {"table": name, "rows": "timesteps", "columns": list(df.columns.names)}
                for name, df in dataframes.items()
            }
        return AttrDict(definition), dataframes

    # -- parameters

    def _grouped(self, rows, level: str, tech: str | None, node: str | None) -> dict[str, Any]:
        """Plain rows -> {param: canonical value}; timeseries rows are set aside."""
        plain: dict[str, list] = {}
        for row in rows:
            if row.year is not None:
                continue  # multi-year values are not part of a Calliope definition
            if row.timeseries_id is not None:
                self._add_series_column(level, tech, node, row)
                continue
            plain.setdefault(row.name, []).append(row)
        return {name: self._param_value(name, group) for name, group in plain.items()}

    @staticmethod
    def _param_value(name: str, rows: list) -> Any:
        dims = {tuple(row.dims) for row in rows}
        if len(dims) != 1:
            raise EngageError(f"{name}: its values use different dimensions {sorted(dims)}.")
        dim = dims.pop()
        values = {tuple(row.index): _stored_number(_from_json(row.value)) for row in rows}
        return _from_param(_Param(dim, values))

    def _add_series_column(self, level: str, tech, node, row) -> None:
        dims = tuple(row.dims)
        key = {"model": (), "tech": (tech,), "node": (tech, node)}[level]
        column = (*key, *row.index, row.name)
        self.series_columns.setdefault((level, dims), {})[column] = row.timeseries_id

    def _model_parameters(self) -> dict[str, Any]:
        rows = self.session.exec(select(ModelParameter).where(
            ModelParameter.model_id == self.model.id).order_by(ModelParameter.id)).all()
        return self._grouped(rows, "model", None, None)

    # -- technologies and links

    def _technologies(self) -> tuple[dict, dict[int, dict]]:
        """Non-transmission techs by name, and every tech's definition by id (for links)."""
        techs = self.session.exec(select(Technology).where(
            Technology.model_id == self.model.id).order_by(Technology.id)).all()
        carriers = self._carriers()
        by_id: dict[int, dict] = {}
        out: dict[str, dict] = {}
        for tech in techs:
            identity = {"base_tech": str(getattr(tech.base_tech, "value", tech.base_tech))}
            identity.update(carriers.get(tech.id, {}))
            if tech.display_name:
                identity["name"] = tech.display_name
            if tech.color:
                identity["color"] = tech.color
            params = self.session.exec(select(TechParameter).where(
                TechParameter.technology_id == tech.id).order_by(TechParameter.id)).all()
            by_id[tech.id] = {"identity": identity, "rows": params}
            if identity["base_tech"] != "transmission":
                out[tech.name] = {**identity, **self._grouped(params, "tech", tech.name, None)}
        return out, by_id

    def _carriers(self) -> dict[int, dict[str, list[str]]]:
        rows = self.session.exec(
            select(TechnologyCarrier, Carrier).join(Carrier, Carrier.id == TechnologyCarrier.carrier_id)
            .where(Carrier.model_id == self.model.id)
            .order_by(TechnologyCarrier.technology_id, TechnologyCarrier.position, TechnologyCarrier.id)
        ).all()
        keys = {role: key for key, role in CARRIER_KEYS.items()}
        out: dict[int, dict[str, list[str]]] = {}
        for link, carrier in rows:
            by_key = out.setdefault(link.technology_id, {})
            by_key.setdefault(keys[link.role], []).append(carrier.name)
        return {tech: {k: by_key[k] for k in CARRIER_KEYS if k in by_key}
                for tech, by_key in out.items()}

    def _links(self, techs_by_id: dict[int, dict]) -> dict[str, dict]:
        links = self.session.exec(select(Link).where(Link.model_id == self.model.id)
                                  .order_by(Link.id)).all()
        locations = self._location_names()
        out = {}
        for link in links:
            tech = techs_by_id[link.technology_id]
            own_rows = self.session.exec(select(LinkParameter).where(
                LinkParameter.link_id == link.id).order_by(LinkParameter.id)).all()
            # The technology's rows first, keyed by this link's name: a link's own series
            # then replaces the technology's for the same column (the dict keeps the last).
            shared = self._grouped(tech["rows"], "tech", link.name, None)
            own = self._grouped(own_rows, "tech", link.name, None)
            out[link.name] = {
                **tech["identity"], **shared, **own,
                "link_from": locations[link.from_location_id],
                "link_to": locations[link.to_location_id],
            }
            self.link_names[link.id] = link.name
        return out

    # -- locations and nodes

    def _location_names(self) -> dict[int, str]:
        rows = self.session.exec(select(Location.id, Location.name).where(
            Location.model_id == self.model.id)).all()
        return dict(rows)

    def _nodes(self) -> dict[str, dict]:
        locations = self.session.exec(select(Location).where(
            Location.model_id == self.model.id).order_by(Location.id)).all()
        out: dict[str, dict] = {}
        names: dict[int, str] = {}
        for location in locations:
            node: dict[str, Any] = {k: getattr(location, k) for k in LOCATION_COLUMNS
                                    if getattr(location, k) is not None}
            node.update(_from_json(location.extra or {}))
            node["techs"] = {}
            out[location.name] = node
            names[location.id] = location.name
        tech_names = dict(self.session.exec(select(Technology.id, Technology.name).where(
            Technology.model_id == self.model.id)).all())
        nodes = self.session.exec(select(Node).where(Node.model_id == self.model.id)
                                  .order_by(Node.id)).all()
        for node in nodes:
            location, tech = names[node.location_id], tech_names[node.technology_id]
            params = self.session.exec(select(NodeParameter).where(
                NodeParameter.node_id == node.id).order_by(NodeParameter.id)).all()
            out[location]["techs"][tech] = self._grouped(params, "node", tech, location)
            self.node_names[node.id] = (location, tech)
        return out

    # -- data tables

    def _dataframes(self) -> dict[str, pd.DataFrame]:
        ids = {ts_id for columns in self.series_columns.values() for ts_id in columns.values()}
        if not ids:
            return {}
        series = self._load_series(ids)
        frames: dict[str, pd.DataFrame] = {}
        # Tech-level tables first: Calliope lets later tables win, and node values are
        # more specific than tech values.
        order = {"model": 0, "tech": 1, "node": 2}
        for level, dims in sorted(self.series_columns, key=lambda k: (order[k[0]], k[1])):
            columns = self.series_columns[(level, dims)]
            name = "_".join(["timeseries", level, *dims])
            frames[name] = self._frame(level, dims, columns, series)
        return frames

    def _load_series(self, ids: set[int]) -> dict[int, pd.Series]:
        rows = self.session.exec(select(Timeseries).where(Timeseries.id.in_(sorted(ids)))).all()
        return {
            row.id: pd.Series(
                [float(v) if v is not None else np.nan for v in row.values],
                index=pd.to_datetime(row.timestamps, format="ISO8601"), dtype=float)
            for row in rows
        }

    @staticmethod
    def _frame(level: str, dims: tuple, columns: dict[tuple, int],
               series: dict[int, pd.Series]) -> pd.DataFrame:
        names = {"model": [], "tech": ["techs"], "node": ["techs", "nodes"]}[level]
        names = [*names, *dims, "inputs"]
        keys = list(columns)
        frame = pd.concat([series[columns[k]] for k in keys], axis=1, keys=keys).sort_index()
        if len(names) == 1:
            frame.columns = pd.Index([k[0] for k in keys], name=names[0])
        else:
            frame.columns = pd.MultiIndex.from_tuples(keys, names=names)
        frame.index.name = "timesteps"
        return frame


def _stored_number(value: Any) -> Any:
    # SQLite gives its JSON column NUMERIC affinity: a stored 750.0 comes back as 750.
    # Calliope's parameters are floats anyway, so every number is exported as a float and
    # the definition (and its input hash) is the same on every database.
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


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


# --------------------------------------------------------------------------- CLI


def import_model_from_cli(*, path: Path, owner_email: str | None, is_public: bool,
                          name: str | None) -> ImportReport:
    """`engage import`: own transaction; the samples user owns the model unless told otherwise."""
    from engage_reflex.db import session_scope
    from engage_reflex.services import samples

    with session_scope() as session:
        if owner_email is None:
            owner_id = samples.ensure_samples_user(session=session)
        else:
            owner_id = _user_id_by_email(session, owner_email)
        return import_model_directory(session=session, path=Path(path), owner_id=owner_id,
                                      name=name, is_public=is_public)


def _user_id_by_email(session: Session, email: str) -> int:
    user_id = session.exec(select(User.id).where(User.email == email.strip().lower())).first()
    if user_id is None:
        user_id = session.exec(select(User.id).where(User.email == email.strip())).first()
    if user_id is None:
        raise EngageError(f"There is no user with email {email}.")
    return user_id


def export_scenario_from_cli(*, model: str, scenario: str, directory: Path,
                             solver: str) -> Path:
    """`engage export`: model and scenario by id or name; writes into an empty folder."""
    from engage_reflex.db import session_scope

    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise EngageError(f"{directory} is not an empty folder.")
    with session_scope() as session:
        model_row = _model_by_id_or_name(session, str(model))
        scenario_row = _scenario_by_id_or_name(session, model_row, str(scenario))
        exported = export_scenario(session=session, scenario_id=scenario_row.id, solver=solver)
    return exported.write_directory(directory)


def _model_by_id_or_name(session: Session, ref: str) -> EnergyModel:
    if ref.isdigit():
        found = session.get(EnergyModel, int(ref))
        if found is not None:
            return found
    matches = session.exec(select(EnergyModel).where(EnergyModel.name == ref)).all()
    if not matches:
        raise NotFound(f"There is no model “{ref}”.")
    if len(matches) > 1:
        ids = ", ".join(str(m.id) for m in matches)
        raise EngageError(f"Several models are called “{ref}” (ids {ids}); give the id.")
    return matches[0]


def _scenario_by_id_or_name(session: Session, model: EnergyModel, ref: str) -> Scenario:
    if ref.isdigit():
        found = session.get(Scenario, int(ref))
        if found is not None and found.model_id == model.id:
            return found
    found = session.exec(select(Scenario).where(
        Scenario.model_id == model.id, Scenario.name == ref)).first()
    if found is None:
        raise NotFound(f"Model “{model.name}” has no scenario “{ref}”.")
    return found

