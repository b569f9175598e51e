"""Value and index encoding between Calliope definitions and the database, and Calliope's
error wording.

Values are stored JSON-safe (+-inf as "inf" / "-inf", NaN as null); a parameter value is a
scalar or indexed data (`{data, index, dims}`), kept canonical as one data item per index item.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engage_reflex.services.errors import EngageError


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


def _fill(path: str, yaml_value: Any, table: _Param, coords: dict[str, list] | None = None) -> Any:
    """Calliope's rule: YAML values win, table values fill what YAML leaves undefined.

    Over different dims, Calliope's merge spreads each over the other's extra dims, at
    every item those dims had when it merged (`coords`); so does this.
    """
    if yaml_value is None:
        return _from_param(table)
    param = _to_param(path, yaml_value)
    if not param.dims:
        return yaml_value if param.rows[()] is not None else _from_param(table)
    if set(param.dims) != set(table.dims):
        dims = (*param.dims, *(d for d in table.dims if d not in param.dims))
        if not all(d in (coords or {}) for d in dims):
            raise EngageError(
                f"{path}: given over {list(param.dims)} in YAML but over {list(table.dims)} in "
                "a data table; Engage cannot combine the two."
            )
        param, table = _spread(param, dims, coords), _spread(table, dims, coords)
    order = [table.dims.index(d) for d in param.dims]
    rows = dict(param.rows)
    for index, value in table.rows.items():
        index = tuple(index[i] for i in order)
        if rows.get(index) is None:
            rows[index] = value
    return _from_param(_Param(param.dims, rows))


def _spread(param: _Param, dims: tuple[str, ...], coords: dict[str, list]) -> _Param:
    """`param` over `dims`: the same value at every item of the dims it lacks."""
    import itertools

    extra = [d for d in dims if d not in param.dims]
    rows: dict[tuple, Any] = {}
    for index, value in param.rows.items():
        named = dict(zip(param.dims, index, strict=True))
        for items in itertools.product(*(coords[d] for d in extra)):
            named.update(zip(extra, items, strict=True))
            rows[tuple(named[d] for d in dims)] = value
    return _Param(dims, rows)


# --------------------------------------------------------------------------- errors


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
