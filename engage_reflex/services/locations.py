"""Locations of a model (Calliope's nodes without their techs): list, add, edit, move, delete, CSV.

Nodes and links hang on a location's id, so renaming a location keeps them; scenario overrides
that name the location under `nodes:` are renamed with it.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, select

from engage_reflex.models import EnergyModel, Link, Location, Node, Scenario, Technology
from engage_reflex.schemas.locations import LocationImpact, LocationImportReport, LocationRow, MapLink
from engage_reflex.services.access import open_to_visitors, require_edit, require_view
from engage_reflex.services.activity import record_change
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.scenarios import rename_in_constraints
from engage_reflex.services.names import check_calliope_name

CSV_COLUMNS = ("name", "latitude", "longitude", "available_area")
CSV_OPTIONAL = ("description",)
CSV_ALIASES = {"lat": "latitude", "lon": "longitude", "lng": "longitude", "long": "longitude",
               "area": "available_area", "available area": "available_area"}
CSV_MAX_BYTES = 1_000_000
CSV_MAX_ROWS = 5_000
_UNSET: Any = object()


# -- validation ------------------------------------------------------------------------------

def _fmt(value: float) -> str:
    return format(value, ".10g")


def parse_number(raw: object, *, label: str) -> float | None:
    """A number typed by a planner ("59.9", "59,9", 59.9); None when empty."""
    if raw is None or isinstance(raw, bool):
        if raw is None:
            return None
        raise EngageError(f"{label} “{raw}” is not a number.")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = str(raw).strip().replace("\u2212", "-")
        if not text:
            return None
        if "," in text and "." not in text:
            text = text.replace(",", ".")  # decimal comma
        try:
            value = float(text)
        except ValueError:
            raise EngageError(f"{label} “{raw}” is not a number.") from None
    if not math.isfinite(value):
        raise EngageError(f"{label} “{raw}” is not a number.")
    return value


def check_coordinates(latitude: object, longitude: object) -> tuple[float | None, float | None]:
    lat = parse_number(latitude, label="Latitude")
    lon = parse_number(longitude, label="Longitude")
    if lat is not None and not -90 <= lat <= 90:
        raise EngageError(f"Latitude {_fmt(lat)} is outside −90…90 (degrees north; south is negative).")
    if lon is not None and not -180 <= lon <= 180:
        raise EngageError(f"Longitude {_fmt(lon)} is outside −180…180 (degrees east; west is negative).")
    if (lat is None) != (lon is None):
        missing = "longitude" if lon is None else "latitude"
        raise EngageError(f"The {missing} is missing: give both latitude and longitude, or neither.")
    return lat, lon


def check_area(raw: object) -> float | None:
    area = parse_number(raw, label="Available area")
    if area is not None and area < 0:
        raise EngageError(f"Available area {_fmt(area)} is negative; use 0 or more, or leave it empty for no limit.")
    return area


def _check_unique(session: Session, model_id: int, name: str, *, except_id: int | None = None) -> None:
    rows = session.exec(select(Location.id, Location.name).where(
        Location.model_id == model_id, func.lower(Location.name) == name.lower())).all()
    for row_id, other in rows:
        if row_id != except_id:
            same = "" if other == name else f" (“{other}” differs only in capital letters)"
            raise EngageError(f"There is already a location called “{name}” in this model{same}; "
                              "choose another name.")


def _location(session: Session, model_id: int, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None or location.model_id != model_id:
        raise NotFound("This location no longer exists (it may have been deleted in another tab). "
                       "Reload the page.")
    return location


# -- reading ---------------------------------------------------------------------------------

def _counts(session: Session, model_id: int) -> tuple[dict[int, int], dict[int, int]]:
    nodes = dict(session.exec(select(Node.location_id, func.count(Node.id)).where(
        Node.model_id == model_id).group_by(Node.location_id)).all())
    links: dict[int, int] = {}
    for column in (Link.from_location_id, Link.to_location_id):
        for loc_id, count in session.exec(select(column, func.count(Link.id)).where(
                Link.model_id == model_id).group_by(column)).all():
            links[loc_id] = links.get(loc_id, 0) + count
    return nodes, links


def _row(location: Location, nodes: int = 0, links: int = 0) -> LocationRow:
    return LocationRow(id=location.id, name=location.name, latitude=location.latitude,
                       longitude=location.longitude, available_area=location.available_area,
                       description=location.description or "", nodes=nodes, links=links)


@open_to_visitors
def list_locations(*, session: Session, user_id: int | None, model_id: int) -> list[LocationRow]:
    """The model's locations by name, with how many techs and links use each."""
    require_view(session=session, user_id=user_id, model_id=model_id)
    locations = session.exec(select(Location).where(Location.model_id == model_id)).all()
    nodes, links = _counts(session, model_id)
    rows = [_row(loc, nodes.get(loc.id, 0), links.get(loc.id, 0)) for loc in locations]
    return sorted(rows, key=lambda r: (r.name.lower(), r.name))


@open_to_visitors
def list_map_links(*, session: Session, user_id: int | None, model_id: int) -> list[MapLink]:
    """Links whose two ends have coordinates, as lines for the map."""
    require_view(session=session, user_id=user_id, model_id=model_id)
    locations = {loc.id: loc for loc in session.exec(select(Location).where(Location.model_id == model_id)).all()}
    techs = dict(session.exec(select(Technology.id, Technology.name).where(Technology.model_id == model_id)).all())
    out = []
    for link in session.exec(select(Link).where(Link.model_id == model_id).order_by(Link.id)).all():
        a, b = locations.get(link.from_location_id), locations.get(link.to_location_id)
        if a is None or b is None or None in (a.latitude, a.longitude, b.latitude, b.longitude):
            continue
        out.append(MapLink(id=link.id, name=link.name, tech=techs.get(link.technology_id, ""),
                           from_location=a.name, to_location=b.name, from_lat=a.latitude, from_lon=a.longitude,
                           to_lat=b.latitude, to_lon=b.longitude))
    return out


# -- editing ---------------------------------------------------------------------------------

def add_location(*, session: Session, user_id: int | None, model_id: int, name: str, latitude: object = None,
                 longitude: object = None, available_area: object = None, description: str = "") -> LocationRow:
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    name = check_calliope_name(name, what="location")
    lat, lon = check_coordinates(latitude, longitude)
    area = check_area(available_area)
    _check_unique(session, model_id, name)
    location = Location(model_id=model_id, name=name, latitude=lat, longitude=lon, available_area=area,
                        description=(description or "").strip())
    session.add(location)
    session.flush()
    where = f" at {_fmt(lat)}, {_fmt(lon)}" if lat is not None else ""
    record_change(session=session, model=model, user_id=user_id, action="location.add",
                  detail=f"Added location “{name}”{where}")
    return _row(location)


def update_location(*, session: Session, user_id: int | None, model_id: int, location_id: int, name: str,
                    latitude: object = None, longitude: object = None, available_area: object = None,
                    description: str | None = None) -> LocationRow:
    """Change every field of a location (renaming keeps its nodes and links)."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    location = _location(session, model_id, location_id)
    if name != location.name:  # an imported name Calliope took is kept as it is
        name = check_calliope_name(name, what="location")
    lat, lon = check_coordinates(latitude, longitude)
    area = check_area(available_area)
    _check_unique(session, model_id, name, except_id=location.id)
    changes = _apply(session, model, location, name=name, lat=lat, lon=lon, area=area,
                     description=location.description if description is None else description.strip())
    if changes:
        record_change(session=session, model=model, user_id=user_id, action="location.update",
                      detail=f"Changed location “{location.name}”: {', '.join(changes)}")
    nodes, links = _counts(session, model_id)
    return _row(location, nodes.get(location.id, 0), links.get(location.id, 0))


def _apply(session: Session, model: EnergyModel, location: Location, *, name: str, lat, lon, area,
           description: str) -> list[str]:
    """Set the fields; the planner-worded list of what changed."""
    changes = []
    if name != location.name:
        changes.append(f"renamed from “{location.name}”")
        _rename_in_scenarios(session, model.id, location.name, name)
        rename_in_constraints(session, model_id=model.id, kind="locations", old=location.name, new=name)
        location.name = name
    if (lat, lon) != (location.latitude, location.longitude):
        changes.append("moved" if lat is not None else "coordinates removed")
        location.latitude, location.longitude = lat, lon
    if area != location.available_area:
        changes.append("available area " + (_fmt(area) if area is not None else "no limit"))
        location.available_area = area
    if description != (location.description or ""):
        changes.append("description")
        location.description = description
    if changes:
        session.add(location)
        session.flush()
    return changes


def _rename_in_scenarios(session: Session, model_id: int, old: str, new: str) -> None:
    """Scenario overrides name nodes by name (`nodes: {old: ...}`, `link_from: old`): follow the rename."""
    for scenario in session.exec(select(Scenario).where(Scenario.model_id == model_id)).all():
        overrides = scenario.overrides or {}
        changed = False
        nodes = overrides.get("nodes")
        if isinstance(nodes, dict) and old in nodes:
            overrides = {**overrides, "nodes": {(new if k == old else k): v for k, v in nodes.items()}}
            changed = True
        techs = overrides.get("techs")
        if isinstance(techs, dict):
            new_techs = {}
            for tech, body in techs.items():
                if isinstance(body, dict) and old in (body.get("link_from"), body.get("link_to")):
                    body = {**body, **{k: new for k in ("link_from", "link_to") if body.get(k) == old}}
                    changed = True
                new_techs[tech] = body
            overrides = {**overrides, "techs": new_techs}
        if changed:
            scenario.overrides = overrides
            session.add(scenario)


def move_location(*, session: Session, user_id: int | None, model_id: int, location_id: int,
                  latitude: object, longitude: object) -> LocationRow:
    """New coordinates only (a marker dropped on the map)."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    location = _location(session, model_id, location_id)
    lat, lon = check_coordinates(latitude, longitude)
    if lat is None:
        raise EngageError("A location moved on the map needs a latitude and a longitude.")
    lat, lon = round(lat, 6), round(lon, 6)  # ~10 cm: more digits only reflect the mouse
    if (lat, lon) != (location.latitude, location.longitude):
        location.latitude, location.longitude = lat, lon
        session.add(location)
        session.flush()
        record_change(session=session, model=model, user_id=user_id, action="location.move",
                      detail=f"Moved location “{location.name}” to {_fmt(lat)}, {_fmt(lon)}")
    nodes, links = _counts(session, model_id)
    return _row(location, nodes.get(location.id, 0), links.get(location.id, 0))


def deletion_impact(*, session: Session, user_id: int | None, model_id: int, location_id: int) -> LocationImpact:
    """What deleting the location takes with it: its nodes (by tech) and its links."""
    require_view(session=session, user_id=user_id, model_id=model_id)
    location = _location(session, model_id, location_id)
    techs = session.exec(select(Technology.name).join(Node, Node.technology_id == Technology.id)
                         .where(Node.location_id == location.id).order_by(Technology.name)).all()
    names = dict(session.exec(select(Location.id, Location.name).where(Location.model_id == model_id)).all())
    links = session.exec(select(Link).where(
        Link.model_id == model_id,
        or_(Link.from_location_id == location.id, Link.to_location_id == location.id)).order_by(Link.name)).all()
    return LocationImpact(
        location_id=location.id, name=location.name, techs=list(techs),
        links=[f"{link.name} ({names.get(link.from_location_id, '?')} – {names.get(link.to_location_id, '?')})"
               for link in links])


def delete_location(*, session: Session, user_id: int | None, model_id: int, location_id: int) -> LocationImpact:
    """Delete a location with its nodes and links (the database cascades); returns what went."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    impact = deletion_impact(session=session, user_id=user_id, model_id=model_id, location_id=location_id)
    location = _location(session, model_id, location_id)
    # Explicit deletes first, so the ORM's identity map does not hold stale rows; the
    # database cascades the rest (node/link parameters, scenario entries).
    for link in session.exec(select(Link).where(
            or_(Link.from_location_id == location.id, Link.to_location_id == location.id))).all():
        session.delete(link)
    for node in session.exec(select(Node).where(Node.location_id == location.id)).all():
        session.delete(node)
    session.flush()
    session.delete(location)
    session.flush()
    extra = []
    if impact.techs:
        extra.append(f"{len(impact.techs)} technolog{'y' if len(impact.techs) == 1 else 'ies'} placed there")
    if impact.links:
        extra.append(f"{len(impact.links)} link{'' if len(impact.links) == 1 else 's'}")
    record_change(session=session, model=model, user_id=user_id, action="location.delete",
                  detail=f"Deleted location “{impact.name}”" + (f" with {' and '.join(extra)}" if extra else ""))
    return impact


# -- CSV -------------------------------------------------------------------------------------

def export_locations_csv(*, session: Session, user_id: int | None, model_id: int) -> str:
    rows = list_locations(session=session, user_id=user_id, model_id=model_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([row.name, *("" if v is None else _fmt(v)
                                     for v in (row.latitude, row.longitude, row.available_area))])
    return out.getvalue()


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        text = content
        size = len(content.encode("utf-8"))
    else:
        size = len(content)
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = content.decode("cp1252")  # "CSV" saved by Excel on Windows
            except UnicodeDecodeError:
                raise EngageError("The file is not readable text. Save it as CSV (UTF-8) and try again.") from None
    if size > CSV_MAX_BYTES:
        raise EngageError(f"The file is {size / 1e6:.1f} MB; the limit is {CSV_MAX_BYTES / 1e6:.0f} MB "
                          f"({CSV_MAX_ROWS:,} locations). Split it into smaller files.")
    return text.lstrip("\ufeff")


def _header(cells: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for position, cell in enumerate(cells):
        key = " ".join(cell.strip().lower().split())
        key = CSV_ALIASES.get(key, key.replace(" ", "_"))
        if not key:
            continue
        if key not in CSV_COLUMNS + CSV_OPTIONAL:
            raise EngageError(f"Column “{cell.strip()}” is not one Engage reads. The columns are "
                              f"{', '.join(CSV_COLUMNS)} (and optionally description).")
        if key in columns:
            raise EngageError(f"Column “{key}” appears twice in the first row.")
        columns[key] = position
    missing = [c for c in ("name", "latitude", "longitude") if c not in columns]
    if missing:
        raise EngageError("The first row must name the columns; missing: " + ", ".join(missing)
                          + f". Expected: {','.join(CSV_COLUMNS)}.")
    return columns


def import_locations_csv(*, session: Session, user_id: int | None, model_id: int,
                         content: bytes | str) -> LocationImportReport:
    """Add or update locations by name from CSV text; all rows or none.

    Row numbers count the header as row 1, as a spreadsheet shows them.
    """
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    text = _decode(content)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else "\t" if "\t" in first and "," not in first else ","
    records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not records or not any(c.strip() for c in records[0]):
        raise EngageError("The file is empty. The first row must be: " + ",".join(CSV_COLUMNS) + ".")
    columns = _header(records[0])
    body = [(number, cells) for number, cells in enumerate(records[1:], start=2) if any(c.strip() for c in cells)]
    if len(body) > CSV_MAX_ROWS:
        raise EngageError(f"The file has {len(body):,} locations; the limit is {CSV_MAX_ROWS:,} per upload.")
    if not body:
        raise EngageError("The file has a header but no locations.")

    existing = {loc.name: loc for loc in session.exec(select(Location).where(Location.model_id == model_id)).all()}
    by_lower = {name.lower(): name for name in existing}
    seen: dict[str, int] = {}
    problems: list[str] = []
    parsed = []
    for number, cells in body:
        def cell(key: str, _cells=cells) -> Any:
            position = columns.get(key)
            if position is None:
                return _UNSET
            return _cells[position].strip() if position < len(_cells) else ""
        try:
            raw_name = cells[columns["name"]] if columns["name"] < len(cells) else ""
            name = check_calliope_name(raw_name.strip() if raw_name.strip() else raw_name, what="location")
            if name.lower() in seen:
                raise EngageError(f"The name “{name}” is already on row {seen[name.lower()]}.")
            if name not in existing and name.lower() in by_lower:
                raise EngageError(f"“{name}” differs from the existing location “{by_lower[name.lower()]}” only "
                                  "in capital letters; use the same spelling to update it.")
            lat, lon = check_coordinates(cell("latitude"), cell("longitude"))
            area = _UNSET if cell("available_area") is _UNSET else check_area(cell("available_area"))
            description = cell("description")
        except EngageError as exc:
            problems.append(f"Row {number}: {exc.message[0].lower()}{exc.message[1:]}")
            continue
        seen[name.lower()] = number
        parsed.append((name, lat, lon, area, description))
    if problems:
        more = f"\n…and {len(problems) - 10} more." if len(problems) > 10 else ""
        raise EngageError(f"Nothing was imported: {len(problems)} row{'s' if len(problems) > 1 else ''} "
                          "need fixing.\n" + "\n".join(problems[:10]) + more)

    added, updated, unchanged = [], [], 0
    for name, lat, lon, area, description in parsed:
        location = existing.get(name)
        if location is None:
            session.add(Location(model_id=model_id, name=name, latitude=lat, longitude=lon,
                                 available_area=None if area is _UNSET else area,
                                 description="" if description is _UNSET else description))
            added.append(name)
            continue
        changes = _apply(session, model, location, name=name, lat=lat, lon=lon,
                         area=location.available_area if area is _UNSET else area,
                         description=(location.description or "") if description is _UNSET else description)
        if changes:
            updated.append(name)
        else:
            unchanged += 1
    session.flush()
    report = LocationImportReport(added=added, updated=updated, unchanged=unchanged)
    if added or updated:
        record_change(session=session, model=model, user_id=user_id, action="location.import",
                      detail=report.summary.replace("Locations imported", "Imported locations from CSV"))
    return report
