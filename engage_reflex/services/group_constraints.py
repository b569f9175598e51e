"""Group constraints: a small library of templates a planner fills in, compiled to Calliope 0.7 custom math.

A scenario stores each constraint as (name, template key, params). `check_params` checks a planner's
choices against what the model has, `describe` gives the one line shown in lists, and
`compile_math` / `add_to_definition` turn the stored constraints into an extra math file of the
exported Calliope definition.

How the math reads (checked against calliope 0.7.0's math parser, see tests/service/test_group_constraints.py):
* A set of techs, nodes, carriers or cost classes is a `where` subset, "[pv, wind] in techs", on a global
  expression that is the summed quantity itself (e.g. `flow_cap`); the constraint then sums that expression.
  Names that are not in the model are simply not matched.
* Calliope's `where` parser reads only ASCII names ("Zürich" stops the parse) and reads "inf" as a number,
  so such names are refused here, in planner words, rather than failing at solve time.
* A constraint whose summed set is empty in the model (e.g. the techs are not at the chosen locations) is
  left out with a `where: any(...)` guard: summing nothing would make the HiGHS backend fail.
"""

from __future__ import annotations

import functools
import io
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from engage_reflex.services.errors import EngageError

MATH_NAME = "engage_group_constraints"
MATH_PATH = "math/engage_group_constraints.yaml"

_PRODUCERS = ("supply", "storage", "conversion")  # base techs with a capacity that produces a carrier
_RESERVE_DEFAULT = ("supply", "storage")  # what counts as firm capacity when the planner names no techs
_MATH_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # what calliope's where/expression parser reads as a name
_FLOW_DIMS = "[nodes, techs, carriers, timesteps]"
_CAP_DIMS = "[nodes, techs, carriers]"


@dataclass(frozen=True)
class TemplateField:
    key: str
    label: str
    kind: str  # "techs" | "locations" | "carrier" | "cost_class" | "number" | "fraction"
    hint: str
    required: bool = True


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    description: str
    fields: tuple[TemplateField, ...]


@dataclass(frozen=True)
class ModelVocabulary:
    techs: dict[str, str]
    tech_carriers_out: dict[str, list[str]]
    tech_carriers_in: dict[str, list[str]]
    locations: list[str]
    carriers: list[str]
    cost_classes: list[str]


_LOCATIONS_HINT = "Leave empty for every location."


def _capacity_template(key: str, title: str, bound: str) -> Template:
    return Template(
        key=key, title=title,
        description=f"The total capacity of the chosen technologies at the chosen locations is {bound} a number.",
        fields=(
            TemplateField("techs", "Technologies", "techs", "Their capacities are added up."),
            TemplateField("locations", "Locations", "locations", _LOCATIONS_HINT, required=False),
            TemplateField("limit", "Capacity", "number",
                          "In the model's capacity unit (e.g. kW), for all of them together."),
        ))


TEMPLATES: dict[str, Template] = {
    "max_capacity": _capacity_template("max_capacity", "Maximum capacity", "at most"),
    "min_capacity": _capacity_template("min_capacity", "Minimum capacity", "at least"),
    "carrier_share": Template(
        key="carrier_share", title="Share of demand",
        description="Over the modelled period, the chosen technologies produce at least a share of the demand "
                    "for a carrier (e.g. 50 % of electricity from renewables).",
        fields=(
            TemplateField("techs", "Technologies", "techs", "Their output of the carrier is added up."),
            TemplateField("carrier", "Carrier", "carrier", "The carrier whose demand they must cover."),
            TemplateField("share", "Share", "fraction", "Percent of the demand, 0 to 100."),
        )),
    "emissions_cap": Template(
        key="emissions_cap", title="Emissions cap",
        description="The total of a cost class (e.g. CO2 emissions) over all technologies is at most a number.",
        fields=(
            TemplateField("cost_class", "Cost class", "cost_class", "E.g. co2, as named in the cost parameters."),
            TemplateField("cap", "Cap", "number", "In the unit of that cost class, over the modelled period."),
            TemplateField("locations", "Locations", "locations", _LOCATIONS_HINT, required=False),
        )),
    "reserve_margin": Template(
        key="reserve_margin", title="Reserve margin",
        description="In every time step, the capacity of firm technologies exceeds the demand for a carrier "
                    "by a margin.",
        fields=(
            TemplateField("carrier", "Carrier", "carrier", "The carrier whose demand must be covered."),
            TemplateField("margin", "Margin", "fraction", "Percent above the demand, e.g. 15."),
            TemplateField("techs", "Firm technologies", "techs",
                          "Leave empty for every supply and storage technology that produces the carrier.",
                          required=False),
        )),
}

# Allowed range of each percent field: (lowest, highest or None, refusal).
_PERCENT_RANGES = {
    ("carrier_share", "share"): (0.0, 100.0, "The share must be between 0 and 100 %"),
    ("reserve_margin", "margin"): (0.0, None, "The reserve margin must be 0 % or more"),
}


# ------------------------------------------------------------------------ checking


def check_params(*, template: str, params: dict, vocabulary: ModelVocabulary) -> dict:
    """The params normalised (lists sorted without repeats, numbers as float), or EngageError in planner words."""
    spec = _template(template)
    params = params if isinstance(params, dict) else {}
    checked = {field.key: _check_field(spec, field, params.get(field.key), vocabulary) for field in spec.fields}
    _check_combination(spec.key, checked, vocabulary)
    return checked


def _template(key: str) -> Template:
    if key not in TEMPLATES:
        known = ", ".join(t.title for t in TEMPLATES.values())
        raise EngageError(f"“{key}” is not a kind of group constraint Engage knows. Choose one of: {known}.")
    return TEMPLATES[key]


def _check_field(spec: Template, field: TemplateField, raw: object, vocabulary: ModelVocabulary):
    if field.kind == "techs":
        return _check_names(raw, field, known=vocabulary.techs, what="technology", empty="Choose at least one "
                            "technology")
    if field.kind == "locations":
        return _check_names(raw, field, known=vocabulary.locations, what="location", empty="Choose at least one "
                            "location")
    if field.kind == "carrier":
        return _check_one(raw, known=vocabulary.carriers, what="carrier")
    if field.kind == "cost_class":
        return _check_one(raw, known=vocabulary.cost_classes, what="cost class")
    if field.kind == "number":
        return _check_number(raw, field, low=0.0, refusal=f"The {field.label.lower()} must be 0 or more")
    low, high, refusal = _PERCENT_RANGES[(spec.key, field.key)]
    return _check_number(raw, field, low=low, high=high, refusal=refusal, unit=" %")


def _as_list(raw: object) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, Iterable):
        raw = [raw]
    return [str(item).strip() for item in raw if item is not None and str(item).strip()]


def _check_names(raw, field: TemplateField, *, known: Iterable[str], what: str, empty: str) -> list[str]:
    names = sorted(set(_as_list(raw)))
    if not names and field.required:
        raise EngageError(f"{empty}.")
    for name in names:
        _check_known(name, known=known, what=what)
    return names


def _check_one(raw, *, known: list[str], what: str) -> str:
    name = "" if raw is None else str(raw).strip()
    if not name:
        raise EngageError(f"Choose a {what}.")
    _check_known(name, known=known, what=what, listed=True)
    return name


def _check_known(name: str, *, known: Iterable[str], what: str, listed: bool = False) -> None:
    known = list(known)
    if name not in known:
        choices = f" (it has {', '.join(sorted(known))})" if listed and known else ""
        raise EngageError(f"“{name}” is not a {what} of this model{choices}.")
    _check_math_name(name, what=what)


def _check_math_name(name: str, *, what: str) -> None:
    if not _MATH_NAME.fullmatch(name) or name.lower() == "inf":
        raise EngageError(
            f"The {what} “{name}” cannot be used in a group constraint: Calliope's constraint language reads "
            f"only names made of English letters (a-z), digits and underscores, other than “inf”. Rename the "
            f"{what} to use it here.")


def _check_number(raw, field: TemplateField, *, low: float, refusal: str, high: float | None = None,
                  unit: str = "") -> float:
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise EngageError(f"Give the {field.label.lower()}.")
    value = _float(raw, text.removesuffix(unit.strip()) if unit else text)
    if not math.isfinite(value):
        raise EngageError(f"The {field.label.lower()} “{text}” is not a number; type digits, e.g. 30.")
    if value < low or (high is not None and value > high):
        shown = text if text.endswith(unit.strip()) else f"{text}{unit}"
        raise EngageError(f"{refusal}; “{shown}” is not.")
    return value


def _float(raw, text: str) -> float:
    if isinstance(raw, bool):
        return math.nan
    try:
        return float(text.strip())
    except ValueError:
        return math.nan


def _check_combination(template: str, checked: dict, vocabulary: ModelVocabulary) -> None:
    if template in ("max_capacity", "min_capacity"):
        _check_capacity_techs(checked["techs"], vocabulary)
    elif template == "carrier_share":
        _check_producers(checked["techs"], checked["carrier"], vocabulary, purpose="A share of demand")
        _check_demand(checked["carrier"], vocabulary)
    elif template == "reserve_margin":
        _check_producers(checked["techs"], checked["carrier"], vocabulary, purpose="A reserve margin")
        _check_demand(checked["carrier"], vocabulary)
        if not checked["techs"] and not _default_firm_techs(checked["carrier"], vocabulary):
            raise EngageError(f"No supply or storage technology of this model produces {checked['carrier']}: "
                              f"choose the technologies whose capacity counts as reserve.")


def _check_capacity_techs(techs: list[str], vocabulary: ModelVocabulary) -> None:
    for tech in techs:
        base = vocabulary.techs[tech]
        if base == "demand":
            raise EngageError(f"“{tech}” is a demand: it has no capacity to limit. Choose technologies that "
                              f"supply, store or convert.")
        if base == "transmission":
            raise EngageError(f"“{tech}” is a link between locations; capacity limits cover only supply, storage "
                              f"and conversion technologies.")


_NOT_PRODUCING = {"demand": "is a demand", "transmission": "only moves energy between locations"}


def _check_producers(techs: list[str], carrier: str, vocabulary: ModelVocabulary, *, purpose: str) -> None:
    for tech in techs:
        base = vocabulary.techs[tech]
        if base not in _PRODUCERS:
            reason = _NOT_PRODUCING.get(base, f"is a {base} technology")
            raise EngageError(f"{purpose} needs supply, storage or conversion technologies that produce "
                              f"{carrier}: {tech} {reason}.")
        if carrier not in vocabulary.tech_carriers_out.get(tech, []):
            raise EngageError(f"{purpose} needs technologies that produce {carrier}: {tech} does not.")


def _check_demand(carrier: str, vocabulary: ModelVocabulary) -> None:
    if not any(base == "demand" and carrier in vocabulary.tech_carriers_in.get(tech, [])
               for tech, base in vocabulary.techs.items()):
        raise EngageError(f"No demand of this model consumes {carrier}; add a demand for {carrier} first.")


def _default_firm_techs(carrier: str, vocabulary: ModelVocabulary) -> list[str]:
    return sorted(tech for tech, base in vocabulary.techs.items()
                  if base in _RESERVE_DEFAULT and carrier in vocabulary.tech_carriers_out.get(tech, []))


# ------------------------------------------------------------------------ describing


def describe(*, template: str, params: dict) -> str:
    """One line for a list of constraints, e.g. "Total capacity of pv, wind at region1 ≤ 1,000"."""
    _template(template)
    techs = ", ".join(params.get("techs") or [])
    locations = params.get("locations") or []
    where = f"at {', '.join(locations)}" if locations else "at every location"
    if template in ("max_capacity", "min_capacity"):
        sign = "≤" if template == "max_capacity" else "≥"
        return f"Total capacity of {techs} {where} {sign} {_number(params.get('limit'))}"
    if template == "carrier_share":
        return f"{techs} produce ≥ {_number(params.get('share'))} % of the {params.get('carrier')} demand"
    if template == "emissions_cap":
        return f"Total {params.get('cost_class')} {where} ≤ {_number(params.get('cap'))}"
    firm = techs or "every supply and storage technology"
    return (f"Capacity of {firm} producing {params.get('carrier')} ≥ demand + {_number(params.get('margin'))} % "
            f"in every time step")


def _number(value) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "?"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------------ compiling


def compile_math(constraints: list[tuple[str, str, dict]]) -> dict:
    """Calliope 0.7 math for the constraints: one constraint `engage_<slug>` (plus its global expressions) each."""
    math_dict: dict = {}
    used: set[str] = set()
    for name, template, params in constraints:
        _template(template)
        prefix = _unique_prefix(name, used)
        description = f"Engage group constraint “{name}”: {describe(template=template, params=params)}"
        expressions, constraint = _COMPILERS[template](prefix, params)
        expressions = {key: {"description": f"{description} ({key.removeprefix(prefix + '_').replace('_', ' ')})",
                             **expression} for key, expression in expressions.items()}
        math_dict.setdefault("global_expressions", {}).update(expressions)
        math_dict.setdefault("constraints", {})[prefix] = {"description": description, **constraint}
    return math_dict


def _unique_prefix(name: str, used: set[str]) -> str:
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:40].rstrip("_") or "constraint"
    prefix, number = f"engage_{slug}", 2
    while prefix in used:
        prefix, number = f"engage_{slug}_{number}", number + 1
    used.add(prefix)
    return prefix


def _subset(names: Iterable[str], dim: str, *, what: str) -> str:
    names = list(names)
    for name in names:  # params come from the database: never let a name become where-syntax
        _check_math_name(name, what=what)
    return f"[{', '.join(names)}] in {dim}"


def _expression(foreach: str, where: list[str], expression: str) -> dict:
    return {"foreach": [d.strip() for d in foreach.strip("[]").split(",")], "where": " AND ".join(where),
            "equations": [{"expression": expression}]}


def _guard(*expressions: tuple[str, str]) -> str:
    return " AND ".join(f"any({name}, over={dims})" for name, dims in expressions)


def _literal(value) -> str:
    return f"{float(value):.15g}"


def _compile_capacity(prefix: str, params: dict, *, sign: str) -> tuple[dict, dict]:
    where = ["flow_cap", "carrier_out", _subset(params["techs"], "techs", what="technology")]
    if params.get("locations"):
        where.append(_subset(params["locations"], "nodes", what="location"))
    capacity = f"{prefix}_capacity"
    return {capacity: _expression(_CAP_DIMS, where, "flow_cap")}, {
        "where": _guard((capacity, _CAP_DIMS)),
        "equations": [{"expression": f"sum({capacity}, over={_CAP_DIMS}) {sign} {_literal(params['limit'])}"}]}


def _demand_where(carrier: str) -> list[str]:
    return ["flow_in", "base_tech==demand", _subset([carrier], "carriers", what="carrier")]


def _compile_carrier_share(prefix: str, params: dict) -> tuple[dict, dict]:
    output, demand = f"{prefix}_output", f"{prefix}_demand"
    carrier = _subset([params["carrier"]], "carriers", what="carrier")
    expressions = {
        output: _expression(_FLOW_DIMS, ["flow_out", _subset(params["techs"], "techs", what="technology"), carrier],
                            "flow_out * timestep_weights"),
        demand: _expression(_FLOW_DIMS, _demand_where(params["carrier"]), "flow_in * timestep_weights"),
    }
    share = _literal(float(params["share"]) / 100)
    return expressions, {
        "where": _guard((output, _FLOW_DIMS), (demand, _FLOW_DIMS)),
        "equations": [{"expression": f"sum({output}, over={_FLOW_DIMS}) >= {share} * sum({demand}, "
                                     f"over={_FLOW_DIMS})"}]}


def _compile_emissions_cap(prefix: str, params: dict) -> tuple[dict, dict]:
    where = ["cost", _subset([params["cost_class"]], "costs", what="cost class")]
    if params.get("locations"):
        where.append(_subset(params["locations"], "nodes", what="location"))
    total, dims = f"{prefix}_cost", "[nodes, techs, costs]"
    return {total: _expression(dims, where, "cost")}, {
        "where": _guard((total, dims)),
        "equations": [{"expression": f"sum({total}, over={dims}) <= {_literal(params['cap'])}"}]}


def _compile_reserve_margin(prefix: str, params: dict) -> tuple[dict, dict]:
    firm, demand = f"{prefix}_firm_capacity", f"{prefix}_demand"
    if params.get("techs"):
        techs = _subset(params["techs"], "techs", what="technology")
    else:
        techs = "(" + " OR ".join(f"base_tech=={base}" for base in _RESERVE_DEFAULT) + ")"
    carrier = _subset([params["carrier"]], "carriers", what="carrier")
    expressions = {
        firm: _expression(_CAP_DIMS, ["flow_cap", "carrier_out", techs, carrier], "flow_cap"),
        # flow_in is energy per time step; divided by its length it is a rate, comparable with flow_cap.
        demand: _expression(_FLOW_DIMS, _demand_where(params["carrier"]), "flow_in / timestep_resolution"),
    }
    factor = _literal(1 + float(params["margin"]) / 100)
    return expressions, {
        "foreach": ["timesteps"],
        "where": _guard((firm, _CAP_DIMS), (demand, _CAP_DIMS)),
        "equations": [{"expression": f"sum({firm}, over={_CAP_DIMS}) >= {factor} * sum({demand}, "
                                     f"over={_CAP_DIMS})"}]}


_COMPILERS = {
    "max_capacity": functools.partial(_compile_capacity, sign="<="),
    "min_capacity": functools.partial(_compile_capacity, sign=">="),
    "carrier_share": _compile_carrier_share,
    "emissions_cap": _compile_emissions_cap,
    "reserve_margin": _compile_reserve_margin,
}


# ------------------------------------------------------------------------ the definition


def math_yaml(math_dict: dict) -> str:
    """YAML text of a math dict, keys in the order given, non-ASCII names kept readable."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 4096  # one line per where/expression string, as written
    yaml.sort_base_mapping_type_on_output = False
    stream = io.StringIO()
    yaml.dump(math_dict, stream)
    return stream.getvalue()


def add_to_definition(definition: dict, files: dict[str, str], constraints: list[tuple[str, str, dict]]) -> None:
    """Write the constraints' math file into `files` and register it as extra math of `definition` (in place)."""
    if not constraints:
        return
    files[MATH_PATH] = math_yaml(compile_math(constraints))
    init = _child(_child(definition, "config"), "init")
    _child(init, "math_paths")[MATH_NAME] = MATH_PATH
    extra = init.get("extra_math")
    extra = [extra] if isinstance(extra, str) else list(extra or [])
    if MATH_NAME not in extra:
        extra.append(MATH_NAME)
    init["extra_math"] = extra


def _child(parent: dict, key: str) -> dict:
    if not isinstance(parent.get(key), dict):
        parent[key] = type(parent)()  # an AttrDict gets an AttrDict, so `definition.config.init` keeps working
    return parent[key]
