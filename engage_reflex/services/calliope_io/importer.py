"""Import of a Calliope model folder into the database (`import_model_directory`)."""

from __future__ import annotations

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
    TechnologyCarrier,
    TechParameter,
    Technology,
    Timeseries,
    User,
)
from engage_reflex.models.series_blob import pack_series
from engage_reflex.schemas import ImportReport
from engage_reflex.services.calliope_io.confine import import_errors
from engage_reflex.services.calliope_io.loading import (
    _load_with_calliope,
    _math_files,
    _model_yaml_path,
    _read_yaml,
    _with_math_paths,
)
from engage_reflex.services.calliope_io.resolve import (
    _resolve,
    _Resolved,
    _SeriesRef,
    _left_out_warning,
    _unused_warning,
)
from engage_reflex.services.calliope_io.scenarios import _import_scenarios
from engage_reflex.services.calliope_io.values import (
    CARRIER_KEYS,
    IDENTITY_KEYS,
    LINK_KEYS,
    LOCATION_COLUMNS,
    _plain,
    _raw_text,
    _to_json,
    _to_param,
)
from engage_reflex.services.errors import EngageError, NotFound


# ------------------------------------------------------------------------ import


@import_errors  # whatever goes wrong reaches the planner as an EngageError
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
        scenarios=scenarios.count,
        warnings=[w for w in (_unused_warning(resolved.unused),
                              _left_out_warning(resolved.left_out)) if w]
        + writer.warnings + scenarios.warnings,
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
        return Timeseries(
            model_id=self.model_id, name=f"{owner}{ref.param}{suffix}"[:200],
            description=f"{ref.param} from data table {ref.source}"[:2000],
            source_filename=ref.source[:300],
            start=_utc(series.index[0]) if len(series) else None,
            end=_utc(series.index[-1]) if len(series) else None,
            length=len(series), data=pack_series(_naive_utc_stamps(series.index), series.to_numpy(dtype=float)),
        )


def _naive_utc_stamps(index: pd.DatetimeIndex) -> np.ndarray:
    # Model time has no zone (the usual case); a zoned index is stored as its UTC instants.
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.to_numpy()


def _utc(stamp: pd.Timestamp):
    # Model time has no zone; the column needs one, so the wall-clock time is kept as UTC.
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()
