"""Technology parameters: Calliope's own catalogue, planners' values with units, inheritance.

The catalogue is read from the installed Calliope package, never written by hand: the
`parameters:` and `lookups:` sections of its math files (`calliope/math/*.yaml`, later files
update earlier ones, so milp's longer descriptions win), the technology fields of its
model-definition schema (`calliope/schemas/dimension_data_schema.py`, read with `ast` —
importing calliope costs seconds in the web process) and the `checks:` of the math, which
give Calliope's own reasons for refusing values. It follows whatever Calliope is installed.

Not offered in the parameter editor (they have their own place, or are not per technology):
* the keys with columns or own pages: base_tech, name, color, description, carrier_in/out/
  export (Essentials), link_from/link_to (Nodes & links), latitude/longitude/available_area
  (Locations);
* what Calliope derives from the time axis itself: lookups of dtype datetime/date and names
  starting with `timestep_`, `lookup_` or `cluster_`;
* model-wide settings (`MODEL_WIDE`): Calliope's math uses them without a technology
  (bigM scales unmet demand, objective_cost_weights weighs cost classes, spores_* drive
  SPORES mode). This is the one list written here, and it only hides entries.

Categories (first rule that matches): `cost_*` -> costs; `*_eff` / `*_eff_per_distance` ->
efficiency; `storage_*` or a storage switch (cyclic_storage, include_storage) -> storage;
parameters Calliope resamples by summing (`resample_method: sum`: amounts per timestep such
as sink_use_equals, source_use_max) -> time series; `*_cap`, `*_cap_*`, `cap_method`,
`*_units*` -> capacity; anything else -> other.

Values are stored in the rows' canonical form (see services/calliope_io/values.py): a scalar
as one row with dims == index == [], a cost parameter as one row per cost class with
dims == ["costs"], index == [class] (Calliope's `{data, index, dims}` on export); +-inf as
"inf"/"-inf". `raw` keeps what the planner typed.

A node's value of a parameter replaces the technology's value as a whole, as Calliope merges
`nodes.<node>.techs.<tech>.<param>` over the tech (so a node that sets only the monetary
class of a cost leaves the other classes at Calliope's default there).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.util
import math
import re
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from engage_reflex.models import (
    Carrier,
    EnergyModel,
    Link,
    LinkParameter,
    Location,
    ModelParameter,
    Node,
    NodeParameter,
    Technology,
    TechnologyCarrier,
    TechParameter,
    Timeseries,
)
from engage_reflex.schemas.techs import (
    CatalogueEntry,
    ClassValue,
    NodeEditorView,
    NodeHeader,
    ParameterChange,
    ParameterRow,
)
from engage_reflex.services import access, activity
from engage_reflex.services.calliope_io.values import (
    IDENTITY_KEYS,
    LINK_KEYS,
    LOCATION_COLUMNS,
    _from_json,
    _to_json,
)
from engage_reflex.services.access import open_to_visitors
from engage_reflex.services.errors import EngageError, NotFound

CATEGORIES = ("capacity", "costs", "efficiency", "storage", "time series", "other")
DEFAULT_COST_CLASSES = ("monetary", "emissions")
MODEL_WIDE = frozenset({"bigM", "objective_cost_weights", "spores_baseline_cost", "spores_slack"})
_INTERNAL_PREFIXES = ("timestep_", "lookup_", "cluster_")
_SCHEMA_CLASSES = ("DimensionData", "CalliopeTech", "CalliopeTransmissionTech")


# ------------------------------------------------------------------- the catalogue


@functools.cache
def calliope_dir() -> Path:
    spec = importlib.util.find_spec("calliope")
    if spec is None or not spec.origin:
        raise EngageError("Calliope is not installed on this server, so its parameters are unknown.")
    return Path(spec.origin).parent


@functools.cache
def _math_sections() -> tuple[dict[str, dict], dict[str, dict], tuple[tuple[str, str, dict], ...]]:
    """(parameters, lookups, checks) of Calliope's math files, base.yaml first."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    files = sorted((calliope_dir() / "math").glob("*.yaml"), key=lambda p: (p.stem != "base", p.stem))
    params: dict[str, dict] = {}
    lookups: dict[str, dict] = {}
    checks: list[tuple[str, str, dict]] = []
    for path in files:
        doc = yaml.load(path.read_text(encoding="utf-8")) or {}
        for section, target in (("parameters", params), ("lookups", lookups)):
            for name, spec in (doc.get(section) or {}).items():
                entry = target.setdefault(name, {"math": path.stem})
                entry.update(spec or {})
        for name, check in (doc.get("checks") or {}).items():
            checks.append((path.stem, name, dict(check)))
    return params, lookups, tuple(checks)


def _schema_tree() -> ast.Module:
    return ast.parse((calliope_dir() / "schemas" / "dimension_data_schema.py").read_text(encoding="utf-8"))


@functools.cache
def _schema_fields() -> dict[str, dict]:
    """Technology fields of Calliope's model-definition schema: annotation, default, docstring."""
    fields: dict[str, dict] = {}
    for cls in _schema_tree().body:
        if not (isinstance(cls, ast.ClassDef) and cls.name in _SCHEMA_CLASSES):
            continue
        for i, stmt in enumerate(cls.body):
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            annotation = ast.unparse(stmt.annotation)
            field: dict[str, Any] = {"annotation": annotation}
            try:
                field["default"] = ast.literal_eval(stmt.value) if stmt.value is not None else None
            except ValueError:
                field["default"] = None
            nxt = cls.body[i + 1] if i + 1 < len(cls.body) else None
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                field["description"] = " ".join(nxt.value.value.split())
            literal = re.search(r"Literal\[(.*?)\]", annotation)
            if literal:
                field["one_of"] = tuple(ast.literal_eval(f"[{literal[1]}]"))
            fields[stmt.target.id] = field
    return fields


@functools.cache
def calliope_key_pattern() -> re.Pattern:
    """The pattern Calliope's schema requires of tech, node and carrier names (`AttrStr`)."""
    tree = ast.parse((calliope_dir() / "schemas" / "general.py").read_text(encoding="utf-8"))
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "AttrStr" for t in stmt.targets):
            for node in ast.walk(stmt.value):
                if isinstance(node, ast.keyword) and node.arg == "pattern":
                    return re.compile(ast.literal_eval(node.value))
    raise EngageError("Could not read Calliope's rule for names from its schema.")


def clean_unit(unit: Any) -> str:
    """Calliope's LaTeX-ish unit text for reading: `$\\frac{\\text{cost}}{\\text{power}}$` -> cost/power."""
    text = str(unit or "").strip()
    text = re.sub(r"\\text\{([^{}]*)\}", r"\1", text)
    text = text.replace(r"\times", "×").replace("{}", "")
    for _ in range(3):
        text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}",
                      lambda m: f"{m[1]}/({m[2]})" if "×" in m[2] else f"{m[1]}/{m[2]}", text)
    text = re.sub(r"([A-Za-z]+)\^\{?-1\}?", r"1/\1", text)
    text = text.replace("$", "").replace("{", "").replace("}", "").strip().rstrip(".").strip()
    return "" if text == "unitless" else text


def default_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "infinite" if value > 0 else "minus infinite"
    if isinstance(value, float):
        return format(value, ".12g")
    return str(value)


def _category(name: str, spec: dict) -> str:
    if name.startswith("cost_"):
        return "costs"
    if name.endswith("_eff") or "_eff_" in name:
        return "efficiency"
    if name.startswith("storage_") or name.endswith("_storage"):
        return "storage"
    if spec.get("resample_method") == "sum":
        return "time series"
    if name.endswith("_cap") or "_cap_" in name or name == "cap_method" or "_units" in name:
        return "capacity"
    return "other"


def _is_tech_level(name: str, spec: dict) -> bool:
    if name in IDENTITY_KEYS or name in LINK_KEYS or name in LOCATION_COLUMNS or name in MODEL_WIDE:
        return False
    if spec.get("dtype") in ("datetime", "date"):
        return False
    return not name.startswith(_INTERNAL_PREFIXES)


@functools.cache
def catalogue() -> tuple[CatalogueEntry, ...]:
    """Every parameter and lookup Calliope accepts on a technology, sorted by name."""
    params, lookups, _ = _math_sections()
    schema = _schema_fields()
    entries: dict[str, CatalogueEntry] = {}
    for kind, section in (("parameter", params), ("lookup", lookups)):
        for name, spec in section.items():
            if not _is_tech_level(name, spec):
                continue
            from_schema = schema.get(name, {})
            dtype = "float" if kind == "parameter" else str(spec.get("dtype", "string"))
            default = from_schema.get("default", spec.get("default", math.nan))
            if kind == "parameter" and isinstance(default, int | float) and not isinstance(default, bool):
                default = float(default)
            one_of = tuple(str(v) for v in (spec.get("one_of") or from_schema.get("one_of") or ()))
            description = " ".join(str(spec.get("description") or from_schema.get("description") or "").split())
            note = ""
            if spec.get("math") == "operate":
                note = "Operate mode only"
            elif spec.get("math") == "milp":
                note = "Needs integer (MILP) math"
            entries[name] = CatalogueEntry(
                name=name, title=str(spec.get("title") or name.replace("_", " ").capitalize()).strip().rstrip("."),
                description=description, unit=clean_unit(spec.get("unit")), default=default,
                default_text=default_text(default), category=_category(name, spec),
                by_cost_class=name.startswith("cost_"), dtype=dtype, one_of=one_of, kind=kind,
                math=str(spec.get("math", "base")), note=note,
            )
    # Schema-only technology fields (not in the math, e.g. an added switch) are offered too.
    for name, field in schema.items():
        if name in entries or name.startswith("_") or not _is_tech_level(name, {}):
            continue
        annotation = field["annotation"]
        dtype = "bool" if annotation.startswith("bool") else "string"
        entries[name] = CatalogueEntry(
            name=name, title=name.replace("_", " ").capitalize(), description=field.get("description", ""),
            unit="", default=field.get("default"), default_text=default_text(field.get("default")),
            category="other", by_cost_class=False, dtype=dtype, one_of=field.get("one_of", ()), kind="schema",
        )
    return tuple(sorted(entries.values(), key=lambda e: e.name))


@functools.cache
def _by_name() -> dict[str, CatalogueEntry]:
    return {entry.name: entry for entry in catalogue()}


def catalogue_entry(name: str) -> CatalogueEntry:
    entry = _by_name().get(name)
    if entry is None:
        raise EngageError(f"Calliope has no technology parameter called “{name}”.")
    return entry


def search_catalogue(query: str = "", category: str = "") -> list[CatalogueEntry]:
    """Entries whose name or title contains every word of `query`, in `category` if given."""
    words = query.lower().split()
    out = []
    for entry in catalogue():
        if category and entry.category != category:
            continue
        haystack = f"{entry.name} {entry.name.replace('_', ' ')} {entry.title}".lower()
        if all(w in haystack for w in words):
            out.append(entry)
    return out


# ------------------------------------------------------------------ values, units


_NUMBER = re.compile(r"^\s*([-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_CURRENCY = re.compile(r"[$€£¥]|(?<![A-Za-z])(?:USD|EUR|GBP|CHF|JPY|CNY|INR|AUD|CAD|NOK|SEK|DKK|BRL|ZAR)(?![A-Za-z])")
_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}
_INF = {"inf", "infinite", "infinity", "∞", "+inf", "unlimited"}


@dataclasses.dataclass(frozen=True)
class Units:
    """The carrier units a tech's values are in (None when it has no carrier yet)."""

    rate: str | None = None
    quantity: str | None = None
    carrier: str = ""


@functools.cache
def _ureg():
    import pint

    return pint.UnitRegistry()


def parse_text(raw: str) -> Any:
    """A planner's text as a plain value: number, boolean, infinity, list or string."""
    text = str(raw or "").strip()
    if not text:
        raise EngageError("Type a value, or use Clear to go back to the default.")
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    if low in _INF:
        return math.inf
    if low in {"-inf", "-infinity", "-∞"}:
        return -math.inf
    if text.startswith("[") and text.endswith("]"):
        return [parse_text(part) for part in text[1:-1].split(",") if part.strip()]
    number = _NUMBER.match(text)
    if number and not number[2]:
        value = float(number[1].replace("_", ""))
        return int(value) if value.is_integer() and abs(value) < 1e15 and "." not in number[1] and "e" not in low else value
    return text


def _unit_expression(alternative: str, units: Units) -> str | None:
    """Calliope's unit words as a pint expression in the carrier's units (None: not convertible)."""
    words = set(re.findall(r"[A-Za-z]+", alternative))
    known = {"power", "energy", "cost", "hour", "hours", "year", "years"}
    if not words <= known:
        return None
    if ("power" in words and not units.rate) or ("energy" in words and not units.quantity):
        return None
    expr = alternative.replace("×", "*")
    expr = re.sub(r"\bpower\b", f"({units.rate})", expr) if "power" in words else expr
    expr = re.sub(r"\benergy\b", f"({units.quantity})", expr) if "energy" in words else expr
    expr = re.sub(r"\bcost\b", "1", expr)
    return expr


def _alternatives(entry: CatalogueEntry) -> list[str]:
    return [a.strip() for a in re.split(r"\s+or\s+|\|", entry.unit) if a.strip()] or [""]


def display_unit(entry: CatalogueEntry, units: Units) -> str:
    """The entry's unit in the tech's carrier units, e.g. cost/kW (what the stored number means)."""
    if not entry.unit:
        return ""
    out = []
    for alt in _alternatives(entry):
        text = alt
        if units.rate:
            text = re.sub(r"\bpower\b", units.rate, text)
        if units.quantity:
            text = re.sub(r"\benergy\b", units.quantity, text)
        out.append(text)
    return " or ".join(out)


def _convert(entry: CatalogueEntry, number: float, unit_text: str, raw: str, units: Units) -> float:
    has_currency = bool(_CURRENCY.search(unit_text))
    if has_currency and "cost" not in entry.unit:
        raise EngageError(f"“{raw}” is a cost, but {entry.name} is not a cost"
                          f"{f' (it is in {display_unit(entry, units)})' if entry.unit else ''}.")
    typed = _CURRENCY.sub("1", unit_text).strip()
    typed = re.sub(r"^1\s*/", "1/", typed)
    if not typed or typed == "1":
        return number
    ureg = _ureg()
    try:
        quantity = ureg.Quantity(number, ureg.parse_units(typed) if "/" not in typed and "*" not in typed
                                 else ureg.parse_expression(typed).units)
    except Exception:
        try:
            quantity = number * ureg.parse_expression(typed)
        except Exception:
            raise EngageError(f"“{unit_text}” in “{raw}” is not a unit Engage knows (e.g. kW, MW, kWh, %).") from None
    problems = []
    for alt in _alternatives(entry):
        if alt == "":
            expr = "dimensionless"
        else:
            expr = _unit_expression(alt, units)
        if expr is None:
            if any(w in alt for w in ("power", "energy")) and not units.rate:
                raise EngageError(f"{entry.name} is in {entry.unit}, and “{units.carrier or 'this technology'}” "
                                  "has no carrier to take its units from; give it a carrier first, or type a "
                                  "plain number.")
            problems.append(alt)
            continue
        try:
            target = ureg.parse_expression(expr)
            factor = 1.0 if not hasattr(target, "units") else float(target.magnitude)
            target_units = target.units if hasattr(target, "units") else ureg.dimensionless
            value = float(quantity.to(target_units).magnitude) / factor
        except Exception:
            problems.append(alt)
            continue
        return value
    expected = display_unit(entry, units) or "a plain number (no unit)"
    article = _what(entry.unit)
    raise EngageError(f"“{raw}” is not {article}; {entry.name} is in {expected}.")


def _what(unit: str) -> str:
    words = {"power": "a power", "energy": "an energy", "cost/power": "a cost per power",
             "cost/energy": "a cost per energy", "": "a plain number", "area": "an area",
             "distance": "a distance", "years": "a number of years"}
    return words.get(unit.split(" or ")[0].split(" | ")[0].strip(), f"in {unit}")


def coerce_value(entry: CatalogueEntry, raw: str, units: Units) -> Any:
    """The value Calliope gets for `raw`, or an EngageError with the reason."""
    text = str(raw or "").strip()
    if entry.dtype == "float":
        number = _NUMBER.match(text)
        if number and number[2]:
            return _convert(entry, float(number[1].replace("_", "")), number[2], text, units)
        if (currency := re.match(rf"^\s*({_CURRENCY.pattern})\s*(.+)$", text)) and _NUMBER.match(currency[2]):
            inner = _NUMBER.match(currency[2])
            return _convert(entry, float(inner[1].replace("_", "")), f"{currency[1]}{inner[2]}", text, units)
        value = parse_text(text)
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "a list" if isinstance(value, list) else f"“{text}”"
            raise EngageError(f"{entry.name} takes one number (e.g. 5, 1e6, inf, or with a unit like 5 MW); "
                              f"{kind} is not a number.")
        return value
    value = parse_text(text)
    if entry.dtype == "bool":
        if not isinstance(value, bool):
            raise EngageError(f"{entry.name} is a switch: type true or false (yes / no), not “{text}”.")
        return value
    if isinstance(value, list) or isinstance(value, bool) or value in (math.inf, -math.inf):
        raise EngageError(f"{entry.name} takes one word{' (' + ', '.join(entry.one_of) + ')' if entry.one_of else ''}"
                          f", not “{text}”.")
    value = text if not isinstance(value, str) else value
    if entry.one_of and value not in entry.one_of:
        raise EngageError(f"{entry.name} must be one of {', '.join(entry.one_of)} (Calliope: "
                          f"{entry.description or 'allowed values'}); “{text}” is not.")
    return value


def value_text(value: Any) -> str:
    return default_text(_from_json(value))


# ------------------------------------------------------------ Calliope's checks
#
# A small reader for the `where:` strings of Calliope's `checks:` (AND / OR / NOT, ==, <, >,
# parentheses, any(x, over=...)), evaluated on one technology's values (at one node). A
# check that uses anything else is skipped: Calliope's own check still runs before a run.

_TOKEN = re.compile(r"\s*(<=|>=|==|<|>|\(|\)|,|=|[A-Za-z_][\w]*|[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)")


class _Unsupported(Exception):
    pass


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _Unsupported(text)
        out.append(m[1])
        pos = m.end()
    return out


class _Where:
    def __init__(self, text: str, values: dict[str, Any]):
        self.toks, self.i, self.values = _tokens(text), 0, values

    def _peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _take(self) -> str:
        tok = self._peek()
        if tok is None:
            raise _Unsupported("end")
        self.i += 1
        return tok

    def run(self) -> bool:
        result = self._or()
        if self._peek() is not None:
            raise _Unsupported(self._peek())
        return result

    def _or(self) -> bool:
        result = self._and()
        while (self._peek() or "").lower() == "or":
            self._take()
            result = self._and() or result
        return result

    def _and(self) -> bool:
        result = self._not()
        while (self._peek() or "").lower() == "and":
            self._take()
            result = self._not() and result
        return result

    def _not(self) -> bool:
        if (self._peek() or "").lower() == "not":
            self._take()
            return not self._not()
        return self._atom()

    def _atom(self) -> bool:
        tok = self._take()
        if tok == "(":
            result = self._or()
            if self._take() != ")":
                raise _Unsupported(")")
            return result
        if self._peek() == "(":
            if tok != "any":
                raise _Unsupported(tok)
            self._take()
            result = self._atom()
            while self._peek() != ")":
                self._take()
            self._take()
            return result
        if self._peek() in ("==", "<", ">", "<=", ">="):
            op, rhs = self._take(), self._literal(self._take())
            return any(_compare(v, op, rhs) for v in self._compared(tok))
        return self._exists(tok)

    @staticmethod
    def _literal(tok: str) -> Any:
        if tok in ("True", "true"):
            return True
        if tok in ("False", "false"):
            return False
        if tok == "inf":
            return math.inf
        try:
            return float(tok)
        except ValueError:
            return tok

    def _all(self, name: str) -> list:
        value = self.values.get(name)
        if value is None:
            return []
        return list(value.values()) if isinstance(value, dict) else [value]

    def _exists(self, name: str) -> bool:
        entry = _by_name().get(name)
        values = self._all(name)
        if entry is not None and entry.dtype == "bool":
            return any(v is True for v in values)
        return any(v is not None and not (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))
                   for v in values)

    def _compared(self, name: str) -> list:
        values = self._all(name)
        if values:
            return values
        entry = _by_name().get(name)
        default = entry.default if entry is not None else None
        return [] if default is None or (isinstance(default, float) and math.isnan(default)) else [default]


def _compare(value: Any, op: str, rhs: Any) -> bool:
    try:
        match op:
            case "==":
                return value == rhs
            case "<":
                return value < rhs
            case ">":
                return value > rhs
            case "<=":
                return value <= rhs
            case ">=":
                return value >= rhs
    except TypeError:
        return False
    return False


def calliope_checks(values: dict[str, Any], *, mode: str = "plan") -> tuple[list[str], list[str]]:
    """(errors, warnings): the messages of Calliope's checks that fire on these values."""
    _, _, checks = _math_sections()
    errors, warnings = [], []
    for math_file, _name, check in checks:
        if math_file == "operate" and mode != "operate":
            continue
        if math_file not in ("base", "milp", "operate"):
            continue
        try:
            fires = _Where(str(check.get("where", "")), values).run()
        except _Unsupported:
            continue
        if fires:
            message = " ".join(str(check.get("message", "")).split())
            (errors if check.get("errors") == "raise" else warnings).append(message)
    return errors, warnings


# ------------------------------------------------------------------- the services


def _tech_or_404(session: Session, tech_id: int) -> Technology:
    tech = session.get(Technology, tech_id)
    if tech is None:
        raise NotFound(f"There is no technology with id {tech_id}.")
    return tech


def _label(tech: Technology) -> str:
    return tech.display_name or tech.name


def tech_units(session: Session, tech: Technology) -> Units:
    """The units of the tech's main carrier: its first output (a demand: its first input)."""
    rows = session.exec(
        select(TechnologyCarrier, Carrier).join(Carrier, Carrier.id == TechnologyCarrier.carrier_id)
        .where(TechnologyCarrier.technology_id == tech.id)
        .order_by(TechnologyCarrier.position, TechnologyCarrier.id)
    ).all()
    base = str(getattr(tech.base_tech, "value", tech.base_tech))
    order = ("in", "out") if base == "demand" else ("out", "in")
    for role in order:
        for link, carrier in rows:
            if link.role == role:
                return Units(rate=carrier.rate_unit or None, quantity=carrier.quantity_unit or None,
                             carrier=carrier.name)
    return Units(carrier=_label(tech))


def model_cost_classes(session: Session, model_id: int) -> list[str]:
    """The model's cost classes: those its values use, then monetary and emissions."""
    found: list[str] = []
    queries = [
        select(ModelParameter.dims, ModelParameter.index).where(ModelParameter.model_id == model_id),
        select(TechParameter.dims, TechParameter.index).join(Technology, Technology.id == TechParameter.technology_id)
        .where(Technology.model_id == model_id),
        select(NodeParameter.dims, NodeParameter.index).join(Node, Node.id == NodeParameter.node_id)
        .where(Node.model_id == model_id),
        select(LinkParameter.dims, LinkParameter.index).join(Link, Link.id == LinkParameter.link_id)
        .where(Link.model_id == model_id),
    ]
    for query in queries:
        for dims, index in session.exec(query).all():
            if dims and "costs" in dims:
                item = str(index[list(dims).index("costs")])
                if item not in found:
                    found.append(item)
    return [*DEFAULT_COST_CLASSES, *sorted(c for c in found if c not in DEFAULT_COST_CLASSES)]


def _model_mode(model: EnergyModel) -> str:
    build = (model.calliope_config or {}).get("build") or {}
    return str(build.get("mode") or "plan")


def series_names(session: Session, model_id: int) -> dict[int, str]:
    """{timeseries id: name} of a model, to show which series a parameter uses."""
    return dict(session.exec(select(Timeseries.id, Timeseries.name).where(Timeseries.model_id == model_id)).all())


def _rows_by_name(rows) -> dict[str, list]:
    out: dict[str, list] = {}
    for row in rows:
        if row.year is None:
            out.setdefault(row.name, []).append(row)
    return out


def _values_of(rows: list) -> Any:
    """The value of a parameter's rows for the checks: scalar, or {class: value}."""
    plain = [r for r in rows if r.timeseries_id is None]
    if not plain:
        return None
    if any(r.dims for r in plain):
        return {"|".join(str(i) for i in r.index): _from_json(r.value) for r in plain}
    return _from_json(plain[0].value)


def _class_values(rows: list, source: str = "", names: dict[int, str] | None = None) -> list[ClassValue]:
    out = []
    for row in sorted(rows, key=lambda r: r.index_key):
        if row.timeseries_id is not None:
            name = (names or {}).get(row.timeseries_id)
            text = f"timeseries “{name}”" if name else "a timeseries"
            out.append(ClassValue(cost_class=row.index_key if row.dims else "", value_text=text, raw=text,
                                  source=source))
            continue
        else:
            text = value_text(row.value)
        out.append(ClassValue(cost_class=row.index_key if row.dims else "", value_text=text,
                              raw=row.raw or text, source=source))
    return out


def _check_value(entry: CatalogueEntry, *, model: EnergyModel, base_tech: str, values: dict[str, Any]) -> list[str]:
    """Refuse what Calliope would refuse (its checks, its mode rules); returns its warnings."""
    if entry.math == "operate" and _model_mode(model) != "operate":
        reason = entry.description.split("NOTE:")[-1].strip() if "NOTE:" in entry.description else ""
        raise EngageError(f"{entry.name} is used in Calliope's operate mode only. Calliope: "
                          f"{reason or 'it is not used when planning capacities.'}")
    errors, warnings = calliope_checks({**values, "base_tech": base_tech}, mode=_model_mode(model))
    if errors:
        raise EngageError(f"Calliope would refuse this: {errors[0]}")
    return warnings


def _set_rows(session: Session, table, owner: dict, existing: list, entry: CatalogueEntry, value: Any,
              raw: str, cost_class: str, timeseries_id: int | None = None) -> None:
    dims, index = (["costs"], [cost_class]) if entry.by_cost_class else ([], [])
    key = "|".join(index)
    for row in existing:  # one value per index; a value over other dims is replaced whole
        if list(row.dims) != dims or row.index_key == key:
            session.delete(row)
    session.flush()
    session.add(table(**owner, name=entry.name, value=_to_json(value), dims=dims, index=index,
                      index_key=key, raw=raw.strip()[:400], timeseries_id=timeseries_id))


def _parse_for(session: Session, entry: CatalogueEntry, tech: Technology, raw: str,
               cost_class: str | None, model_id: int) -> tuple[Any, str]:
    value = coerce_value(entry, raw, tech_units(session, tech))
    return value, cost_class_for(entry, cost_class)


def cost_class_for(entry: CatalogueEntry, cost_class: str | None) -> str:
    """The cost class a value of `entry` goes to ("" for a parameter not given per cost class)."""
    if entry.by_cost_class:
        cost_class = (cost_class or "monetary").strip()
        if not calliope_key_pattern().match(cost_class):
            raise EngageError(f"“{cost_class}” cannot be a cost class: use one word of letters, digits "
                              "and _ that does not start with a digit or _ (e.g. monetary, co2).")
    elif cost_class:
        raise EngageError(f"{entry.name} is not given per cost class.")
    return cost_class or ""


def _with(values: dict[str, Any], entry: CatalogueEntry, value: Any, cost_class: str) -> dict[str, Any]:
    out = dict(values)
    if entry.by_cost_class:
        current = out.get(entry.name)
        out[entry.name] = {**(current if isinstance(current, dict) else {}), cost_class: value}
    else:
        out[entry.name] = value
    return out


def _what_set(entry: CatalogueEntry, cost_class: str) -> str:
    return f"{entry.name} ({cost_class})" if cost_class else entry.name


def set_tech_parameter(*, session: Session, user_id: int | None, tech_id: int, name: str, raw: str,
                       cost_class: str | None = None) -> ParameterChange:
    """Set one parameter (one cost class of a cost) of a technology from the planner's text."""
    tech = _tech_or_404(session, tech_id)
    model = access.require_edit(session=session, user_id=user_id, model_id=tech.model_id)
    entry = catalogue_entry(name)
    value, cost_class = _parse_for(session, entry, tech, raw, cost_class, model.id)
    rows = session.exec(select(TechParameter).where(TechParameter.technology_id == tech.id)).all()
    by_name = _rows_by_name(rows)
    values = {n: _values_of(r) for n, r in by_name.items()}
    warnings = _check_value(entry, model=model, base_tech=str(getattr(tech.base_tech, "value", tech.base_tech)),
                            values=_with(values, entry, value, cost_class))
    _set_rows(session, TechParameter, {"technology_id": tech.id}, by_name.get(entry.name, []), entry, value,
              raw, cost_class)
    message = f"Set {_what_set(entry, cost_class)} of “{_label(tech)}” to {raw.strip()}"
    activity.record_change(session=session, model=model, user_id=user_id, action="tech_parameter_set",
                           detail=message)
    return ParameterChange(name=entry.name, message=message, warnings=warnings)


def clear_tech_parameter(*, session: Session, user_id: int | None, tech_id: int, name: str,
                         cost_class: str | None = None) -> ParameterChange:
    """Remove a technology's value (one cost class, or all of them) so Calliope's default applies."""
    tech = _tech_or_404(session, tech_id)
    model = access.require_edit(session=session, user_id=user_id, model_id=tech.model_id)
    rows = session.exec(select(TechParameter).where(TechParameter.technology_id == tech.id,
                                                    TechParameter.name == name,
                                                    TechParameter.year.is_(None))).all()
    if cost_class:
        rows = [r for r in rows if r.index_key == cost_class]
    if not rows:
        raise EngageError(f"“{_label(tech)}” has no value of {name}{f' ({cost_class})' if cost_class else ''} to clear.")
    for row in rows:
        session.delete(row)
    session.flush()
    entry = _by_name().get(name)
    fallback = f"; Calliope's default {entry.default_text} applies" if entry else ""
    message = f"Cleared {name}{f' ({cost_class})' if cost_class else ''} of “{_label(tech)}”{fallback}"
    activity.record_change(session=session, model=model, user_id=user_id, action="tech_parameter_cleared",
                           detail=message)
    return ParameterChange(name=name, message=message, warnings=[])


def _options(entry: CatalogueEntry) -> list[str]:
    if entry.dtype == "bool":
        return ["true", "false"]
    return list(entry.one_of)


def _row(entry: CatalogueEntry, units: Units, own: list, tech_rows: list | None = None,
         names: dict[int, str] | None = None) -> ParameterRow:
    own_values = _class_values(own, names=names)
    tech_values = _class_values(tech_rows or [], "technology", names)
    if own and tech_rows is not None:
        effective, source = _class_values(own, "node", names), "node"
    elif tech_rows:
        effective, source = tech_values, "technology"
    else:
        effective, source = [ClassValue(cost_class="", value_text=entry.default_text, raw=entry.default_text,
                                        source="default")], "default"
    return ParameterRow(
        name=entry.name, title=entry.title, description=entry.description, unit=display_unit(entry, units),
        default_text=entry.default_text, category=entry.category, by_cost_class=entry.by_cost_class,
        dtype=entry.dtype, options=_options(entry), note=entry.note, is_set=bool(own), set_values=own_values,
        tech_values=tech_values, effective=effective, effective_source=source,
    )


def _unknown_row(name: str, own: list, tech_rows: list | None = None,
                 names: dict[int, str] | None = None) -> ParameterRow:
    """A stored value of a key Calliope's math does not use (kept from an import)."""
    entry = CatalogueEntry(name=name, title=name, description="Not used by Calliope's math; kept as imported.",
                           unit="", default=None, default_text="none", category="other",
                           by_cost_class=any(r.dims for r in [*own, *(tech_rows or [])]), dtype="string",
                           kind="unknown")
    return _row(entry, Units(), own, tech_rows, names)


def list_tech_parameters(*, session: Session, user_id: int | None, tech_id: int) -> list[ParameterRow]:
    """The tech's parameters: the ones set first (by name), then the catalogue with defaults."""
    tech = _tech_or_404(session, tech_id)
    access.require_view(session=session, user_id=user_id, model_id=tech.model_id)
    units = tech_units(session, tech)
    by_name = _rows_by_name(session.exec(select(TechParameter).where(
        TechParameter.technology_id == tech.id)).all())
    known = _by_name()
    names = series_names(session, tech.model_id)
    set_rows = [(_row(known[n], units, rows, names=names) if n in known else _unknown_row(n, rows, names=names))
                for n, rows in sorted(by_name.items())]
    rest = [_row(entry, units, []) for entry in catalogue() if entry.name not in by_name]
    return set_rows + rest


# ----------------------------------------------------------------------- nodes


def _node_context(session: Session, node_id: int) -> tuple[Node, Technology, Location]:
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound(f"There is no node with id {node_id}.")
    return node, session.get(Technology, node.technology_id), session.get(Location, node.location_id)


def get_node_header(*, session: Session, user_id: int | None, node_id: int) -> NodeHeader:
    node, tech, location = _node_context(session, node_id)
    access.require_view(session=session, user_id=user_id, model_id=node.model_id)
    return NodeHeader(node_id=node.id, location=location.name, tech_id=tech.id, tech_name=tech.name,
                      tech_display_name=_label(tech), base_tech=str(getattr(tech.base_tech, "value", tech.base_tech)))


def set_node_parameter(*, session: Session, user_id: int | None, node_id: int, name: str, raw: str,
                       cost_class: str | None = None) -> ParameterChange:
    """Override a tech parameter at one node (Calliope's `nodes.<node>.techs.<tech>.<param>`)."""
    node, tech, location = _node_context(session, node_id)
    model = access.require_edit(session=session, user_id=user_id, model_id=node.model_id)
    entry = catalogue_entry(name)
    value, cost_class = _parse_for(session, entry, tech, raw, cost_class, model.id)
    tech_by_name = _rows_by_name(session.exec(select(TechParameter).where(
        TechParameter.technology_id == tech.id)).all())
    node_by_name = _rows_by_name(session.exec(select(NodeParameter).where(NodeParameter.node_id == node.id)).all())
    values = {n: _values_of(r) for n, r in {**tech_by_name, **node_by_name}.items()}
    if entry.by_cost_class and entry.name not in node_by_name:
        values.pop(entry.name, None)  # the node's value replaces the tech's as a whole
    warnings = _check_value(entry, model=model, base_tech=str(getattr(tech.base_tech, "value", tech.base_tech)),
                            values=_with(values, entry, value, cost_class))
    _set_rows(session, NodeParameter, {"node_id": node.id}, node_by_name.get(entry.name, []), entry, value,
              raw, cost_class)
    message = (f"Set {_what_set(entry, cost_class)} of “{_label(tech)}” at “{location.name}” to {raw.strip()}")
    activity.record_change(session=session, model=model, user_id=user_id, action="node_parameter_set",
                           detail=message)
    return ParameterChange(name=entry.name, message=message, warnings=warnings)


def clear_node_parameter(*, session: Session, user_id: int | None, node_id: int, name: str,
                         cost_class: str | None = None) -> ParameterChange:
    """Remove a node's override: the technology's value (or Calliope's default) applies again."""
    node, tech, location = _node_context(session, node_id)
    model = access.require_edit(session=session, user_id=user_id, model_id=node.model_id)
    rows = session.exec(select(NodeParameter).where(NodeParameter.node_id == node.id, NodeParameter.name == name,
                                                    NodeParameter.year.is_(None))).all()
    if cost_class:
        rows = [r for r in rows if r.index_key == cost_class]
    if not rows:
        raise EngageError(f"“{_label(tech)}” at “{location.name}” has no value of {name} of its own to clear.")
    for row in rows:
        session.delete(row)
    session.flush()
    has_tech = session.exec(select(TechParameter.id).where(TechParameter.technology_id == tech.id,
                                                           TechParameter.name == name)).first() is not None
    back = "the technology's value" if has_tech else "Calliope's default"
    message = (f"Cleared {name}{f' ({cost_class})' if cost_class else ''} of “{_label(tech)}” at "
               f"“{location.name}”; {back} applies")
    activity.record_change(session=session, model=model, user_id=user_id, action="node_parameter_cleared",
                           detail=message)
    return ParameterChange(name=name, message=message, warnings=[])


def effective_parameters(*, session: Session, user_id: int | None, node_id: int) -> list[ParameterRow]:
    """Per parameter: Calliope's default, the tech's value, the node's, and which one applies.

    Rows with a node value come first, then those with a tech value, then the catalogue.
    """
    node, tech, _ = _node_context(session, node_id)
    access.require_view(session=session, user_id=user_id, model_id=node.model_id)
    units = tech_units(session, tech)
    tech_by_name = _rows_by_name(session.exec(select(TechParameter).where(
        TechParameter.technology_id == tech.id)).all())
    node_by_name = _rows_by_name(session.exec(select(NodeParameter).where(NodeParameter.node_id == node.id)).all())
    known = _by_name()
    series = series_names(session, node.model_id)
    rows = []
    for name in sorted({*tech_by_name, *node_by_name} - set(known)):
        rows.append(_unknown_row(name, node_by_name.get(name, []), tech_by_name.get(name, []), series))
    for entry in catalogue():
        rows.append(_row(entry, units, node_by_name.get(entry.name, []), tech_by_name.get(entry.name, []), series))
    order = {"node": 0, "technology": 1, "default": 2}
    return sorted(rows, key=lambda r: order[r.effective_source])


def list_cost_classes(*, session: Session, user_id: int | None, model_id: int) -> list[str]:
    """The cost classes a cost parameter of this model can be given in."""
    access.require_view(session=session, user_id=user_id, model_id=model_id)
    return model_cost_classes(session, model_id)


@open_to_visitors
def node_editor_view(*, session: Session, user_id: int | None, model_id: int, node_id: int) -> NodeEditorView:
    """A node's page in one call: which tech where, the cost classes, the inherited parameters."""
    header = get_node_header(session=session, user_id=user_id, node_id=node_id)
    node = session.get(Node, node_id)
    if node.model_id != model_id:
        raise NotFound(f"There is no node with id {node_id} in this model.")
    from engage_reflex.services.series_params import series_choices

    return NodeEditorView(header=header, cost_classes=model_cost_classes(session, model_id),
                          rows=effective_parameters(session=session, user_id=user_id, node_id=node_id),
                          series=series_choices(session, model_id))
