"""Export of a scenario from the database as a Calliope definition (`ModelDefinition`)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
from sqlmodel import Session, select

from engage_reflex.models import (
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
    TechnologyCarrier,
    TechParameter,
    Technology,
    Timeseries,
)
from engage_reflex.models.series_blob import unpack_stored
from engage_reflex.services import access, clustering, group_constraints
from engage_reflex.services.calliope_io.scenarios import _apply_scenario
from engage_reflex.services.calliope_io.values import (
    CARRIER_KEYS,
    LOCATION_COLUMNS,
    SOLVERS,
    _from_json,
    _from_param,
    _Param,
    _plain,
    _to_json,
)
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.scenarios import constraints_for_export


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
            if rel in self.files:  # an override's own table file of that name
                rel = f"data_tables/engage_{table_name}.csv"
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
    cluster_days: int | None = None,
) -> ModelDefinition:
    """Rebuild the Calliope definition of a scenario from the database; with `cluster_days`, the
    run's days are clustered into that many representative days (services/clustering.py)."""
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
    definition, files = _plain(definition), exporter.files()
    group_constraints.add_to_definition(definition, files, constraints_for_export(session, scenario))
    if cluster_days:
        period = ((definition.get("config") or {}).get("init") or {}).get("subset", {}) or {}
        clusters = clustering.representative_days(dataframes, days=cluster_days,
                                                  period=clustering.period_bounds(period.get("timesteps")))
        clustering.add_to_definition(definition, dataframes, clusters)
    return ModelDefinition(definition=definition, dataframes=dataframes, files=files, name=model.name)


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
        nodes = self._nodes()
        self._yield_to_node_series(techs, nodes)
        definition = {
            "config": _from_json(copy.deepcopy(self.model.calliope_config)),
            "data_definitions": self._model_parameters(),
            "techs": {**techs, **self._links(link_techs)},
            "nodes": nodes,
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

    def _yield_to_node_series(self, techs: dict[str, dict], nodes: dict[str, dict]) -> None:
        """A node's series must win over its tech's constant, but Calliope lets any YAML value win
        over a data table. So where a node follows a series, the tech's constant for that
        parameter moves from the tech down to each of the tech's other nodes (those without a
        value of their own): every node reads what the planner set, and the series reaches Calliope."""
        followed: dict[tuple[str, str], set[str]] = {}
        for (level, dims), columns in self.series_columns.items():
            if level != "node" or dims:
                continue  # a series per cost class (or other index) leaves the tech's YAML alone
            for tech, node, name in columns:
                followed.setdefault((tech, name), set()).add(node)
        for (tech, name), series_nodes in followed.items():
            if tech not in techs or name not in techs[tech]:
                continue
            constant = techs[tech].pop(name)
            for node_name, node in nodes.items():
                own = node.get("techs", {}).get(tech)
                if own is None or node_name in series_nodes or name in own:
                    continue
                own[name] = copy.deepcopy(constant)

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
        return {row.id: _as_series(row.data) for row in rows}

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


_PARSED_TIME_DTYPE = pd.to_datetime(["2005-01-01T00:00:00"], format="ISO8601").dtype  # us on pandas 3


def _as_series(blob: bytes) -> pd.Series:
    stamps, values = unpack_stored(blob)
    # The resolution pandas gives times parsed from text, as Calliope reads its own CSV files:
    # the same model built from our tables or from the original files has the same time axis.
    return pd.Series(values, index=pd.DatetimeIndex(stamps.astype(_PARSED_TIME_DTYPE)), dtype=float)
