"""A model as Calliope sees it, in Engage's shape: templates resolved, plain table values
folded into the YAML layer, timeseries kept where YAML does not override them."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pandas as pd

from engage_reflex.services.calliope_io.loading import _Tables
from engage_reflex.services.calliope_io.values import (
    CARRIER_KEYS,
    EXTRA_TECH_KEYS,
    IDENTITY_KEYS,
    LINK_KEYS,
    _calliope_errors,
    _canonical,
    _covers,
    _fill,
    _merge_param,
    _Param,
    _plain,
)
from engage_reflex.services.errors import EngageError


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
    # Keys Calliope accepts but its math does not use ("techs.pv.my_note"): kept, reported.
    unused: list[str] = dataclasses.field(default_factory=list)
    # Techs never placed and without base_tech: not in Calliope's inputs, left out, reported.
    left_out: list[str] = dataclasses.field(default_factory=list)


def _resolve(raw: dict, tables: _Tables, *, known: set[str] | None, with_series: bool) -> _Resolved:
    """Resolve templates and fold table values in, keeping Calliope's precedence.

    With `known` (parameter names of the math), keys outside it are listed in `unused`
    (Calliope keeps them in its inputs and ignores them; so does Engage).
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
    nodes = _resolve_nodes(resolved.get("nodes") or {}, tables.node_techs, techs)
    left_out = _unplaced_without_base_tech(techs, nodes)
    for name in left_out:
        del techs[name]
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
    model.nodes = nodes
    model.left_out = left_out
    model.templates = {
        name: _canonical_tech(f"templates.{name}", _plain(solver.resolved_templates[name]))
        for name in set(model.link_templates.values())
    }
    _fold_plain_table_values(model, tables)
    if with_series:
        _attach_series(model, tables)
    if known is not None:
        model.unused = _unused_keys(model, known)
    return model


def _resolve_techs(yaml_techs: dict, table_defs: dict) -> dict[str, dict]:
    techs = {}
    for name in [*yaml_techs, *(t for t in table_defs if t not in yaml_techs)]:
        # Calliope: tech keys from tables sit under the YAML definition.
        merged = {**table_defs.get(name, {}), **(yaml_techs.get(name) or {})}
        techs[name] = _canonical_tech(f"techs.{name}", merged)
    return techs


def _unplaced_without_base_tech(techs: dict[str, dict], nodes: dict[str, dict]) -> list[str]:
    """Techs Calliope accepts and leaves out of the model: no base_tech, at no node, not a
    link. Engage's technologies need a base tech, so they are left out too."""
    placed = {tech for attrs in nodes.values() for tech in attrs["techs"]}
    return [name for name, definition in techs.items()
            if not definition.get("base_tech") and name not in placed
            and not all(definition.get(k) for k in LINK_KEYS)]


def _left_out_warning(left_out: list[str]) -> str | None:
    if not left_out:
        return None
    names = ", ".join(f"techs.{name}" for name in left_out)
    return (f"left out {names}: never placed at a node and without a base_tech, so Calliope "
            "leaves it out of the model too (give it a base_tech to keep it).")


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


# Keys that describe rather than parameterise; Calliope's math needs none of them.
_DESCRIPTIVE_KEYS = {"description", "techs", "template"}


def _unused_keys(model: _Resolved, known: set[str]) -> list[str]:
    """Paths of keys no math file uses: Calliope keeps them as inputs and ignores them."""
    used = known | EXTRA_TECH_KEYS | _DESCRIPTIVE_KEYS
    paths = [f"techs.{tech}.{key}" for tech, d in model.techs.items() for key in d]
    for node, attrs in model.nodes.items():
        paths += [f"nodes.{node}.{key}" for key in attrs]
        paths += [f"nodes.{node}.techs.{tech}.{key}" for tech, params in attrs["techs"].items()
                  for key in params]
    paths += [f"data_definitions.{key}" for key in model.data_definitions]
    paths += [f"data_tables ({ref.source}).{ref.param}" for ref in model.series]
    unused = [path for path in paths if path.rsplit(".", 1)[-1] not in used]
    return list(dict.fromkeys(unused))


def _unused_warning(unused: list[str], limit: int = 20) -> str | None:
    if not unused:
        return None
    shown = ", ".join(unused[:limit]) + (f" and {len(unused) - limit} more" if len(unused) > limit else "")
    return (f"kept but not used by Calliope's math: {shown} (check the spelling if you meant "
            "one of Calliope's parameters).")


def _link_ends(model: _Resolved, tech: str | None) -> tuple[str, ...]:
    """The two nodes of a link (empty for anything that is not a link)."""
    definition = model.techs.get(tech) if tech is not None else None
    if not definition or not all(definition.get(k) for k in LINK_KEYS):
        return ()
    return tuple(definition[k] for k in LINK_KEYS)


def _fold_plain_table_values(model: _Resolved, tables: _Tables) -> None:
    """Non-timeseries table values become YAML-layer values under the YAML ones.

    A parameter also in `data_definitions` needs no care: Calliope applies those last,
    over table and YAML values alike, in the original and in the export. (Tables are
    merged before this, so a model-level table value and a tech-level one of the same
    parameter arrive here as tech-level values, in the tables' own order.)
    """
    for (tech, node, param), value in tables.values.items():
        if not value.plain:
            continue
        table = _Param(value.dims, value.plain)
        if tech is None and node is None:
            path = f"data_definitions.{param}"
            model.data_definitions[param] = _fill(path, model.data_definitions.get(param), table,
                                                  tables.coords)
        elif tech is None:
            _fold_into_location(model, node, param, table, tables.coords)
        elif node is None:
            _fold_into_tech(model, tech, param, table, tables.coords)
        else:
            _fold_into_node(model, node, tech, param, table, tables.coords)


def _fold_into_location(model: _Resolved, node: str, param: str, table: _Param,
                        coords: dict) -> None:
    if node not in model.nodes:
        return
    attrs = model.nodes[node]
    attrs[param] = _fill(f"nodes.{node}.{param}", attrs.get(param), table, coords)


def _fold_into_tech(model: _Resolved, tech: str, param: str, table: _Param,
                    coords: dict) -> None:
    if tech not in model.techs:
        return
    definition = model.techs[tech]
    definition[param] = _fill(f"techs.{tech}.{param}", definition.get(param), table, coords)
    # A node's own YAML value replaces the tech's, so the table must fill it too.
    for node, attrs in model.nodes.items():
        own = attrs["techs"].get(tech)
        if own is not None and param in own:
            own[param] = _fill(f"nodes.{node}.techs.{tech}.{param}", own[param], table, coords)


def _fold_into_node(model: _Resolved, node: str, tech: str, param: str, table: _Param,
                    coords: dict) -> None:
    if node in _link_ends(model, tech)[:1]:
        # A link's value seen at its nodes: Calliope refuses transmission data over `nodes`
        # in a table, so this is a table value of the link itself that merging with a
        # per-node table spread over every node (equal at both ends). Keep it on the link.
        _fold_into_tech(model, tech, param, table, coords)
        return
    own = model.nodes.get(node, {}).get("techs", {}).get(tech)
    if own is None:
        return  # tech not at this node: Calliope drops the value too
    current = own.get(param, model.techs[tech].get(param))
    filled = _fill(f"nodes.{node}.techs.{tech}.{param}", current, table, coords)
    if filled != current:
        own[param] = filled


def _attach_series(model: _Resolved, tables: _Tables) -> None:
    """Timeseries rows, minus the index items a YAML value overrides (Calliope's order)."""
    for (tech, node, param), value in tables.values.items():
        for index, series in value.series.items():
            ref = _SeriesRef("model", tech, node, param, value.dims, index, series,
                             tables.sources.get(param, ""))
            if tech is None and node is None:
                _keep_model_series(model, ref)
            elif tech is None:
                _keep_location_series(model, ref)
            elif node is None:
                _keep_tech_series(model, ref)
            else:
                _keep_node_series(model, ref)


def _keep_model_series(model: _Resolved, ref: _SeriesRef) -> None:
    path = f"data_definitions.{ref.param}"
    if not _covers(path, model.data_definitions.get(ref.param), ref.dims, ref.index):
        model.series.append(ref)


def _keep_location_series(model: _Resolved, ref: _SeriesRef) -> None:
    """A series per node without a tech: a model-level series over `nodes` (the export
    gives it back as a table over nodes, as the original had it)."""
    if ref.node not in model.nodes:
        return
    if _covers(f"nodes.{ref.node}.{ref.param}", model.nodes[ref.node].get(ref.param),
               ref.dims, ref.index):
        return  # the node's own YAML value wins
    _keep_model_series(model, dataclasses.replace(
        ref, node=None, dims=("nodes", *ref.dims), index=(ref.node, *ref.index)))


def _keep_node_series(model: _Resolved, ref: _SeriesRef) -> None:
    ends = _link_ends(model, ref.tech)
    if ends:
        if ref.node == ends[0]:  # a link's own series, spread over every node (see above)
            _keep_tech_series(model, dataclasses.replace(ref, node=None))
        return
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
