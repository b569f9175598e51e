"""Nodes and links: technologies placed at locations, and transmission between two locations.

A node is a (non-transmission) technology placed at a location; it becomes
`nodes.<location>.techs.<tech>` in the Calliope definition, with the node's own values
(overrides, edited on the node's page) under it. A link is a transmission technology
between two locations; its name is the Calliope tech key it is exported as (with
`link_from` / `link_to`), so it must be a valid key, unique among links and technologies.

A node or link created in a model that has scenarios is on in every scenario: the exporter
treats a node or link without a ScenarioNode / ScenarioLink row as on, and none is written.

Every function takes keyword arguments only and does not commit (the caller's
`session_scope()` does). The placement grid is read in a handful of queries whatever the
size of the model (no query per location or per cell).
"""

from __future__ import annotations

import re

from sqlalchemy import delete, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from engage_reflex.models import (
    Link,
    LinkParameter,
    Location,
    Node,
    NodeParameter,
    Scenario,
    ScenarioLink,
    ScenarioNode,
    Technology,
)
from engage_reflex.schemas.nodes import (
    BulkChange,
    Choice,
    GridRow,
    GridTech,
    LinksView,
    LinkView,
    NodeChange,
    NodeView,
    PlacementGrid,
    TechGroup,
)
from engage_reflex.services.access import open_to_visitors, require_edit, require_view
from engage_reflex.services.activity import record_change
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.names import check_calliope_name, plural

# Same order as the model overview (services/models.py): what a planner places first.
BASE_TECH_ORDER = {"supply": 0, "conversion": 1, "storage": 2, "transmission": 3, "demand": 4}
GRID_PAGE_SIZE = 25  # rows of 30 techs: 750 checkboxes render fast enough (bench/builder_pages.py)
MAX_GRID_PAGE_SIZE = 200
LINK_NAME_MAX = 200
# Calliope's tech keys, as services/names.py checks them: a letter first, then word characters.
_KEY = re.compile(r"[^\W\d_]\w*")

TRANSMISSION_AT_NODE = "Transmission technologies connect two locations: add them as a link."
SAME_LOCATION = "A link needs two different locations."


# ------------------------------------------------------------------ small helpers


def _base(tech: Technology) -> str:
    return str(getattr(tech.base_tech, "value", tech.base_tech))


def _label(tech: Technology) -> str:
    return tech.display_name or tech.name


def _tech_order(tech: Technology) -> tuple:
    return BASE_TECH_ORDER.get(_base(tech), 9), _label(tech).lower(), tech.id



def _own_values(n: int) -> str:
    return plural(n, "own value")


def _location(session: Session, model_id: int, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None or location.model_id != model_id:
        raise NotFound("That location is not part of this model (it may have been deleted). Reload the page.")
    return location


def _technology(session: Session, model_id: int, tech_id: int) -> Technology:
    tech = session.get(Technology, tech_id)
    if tech is None or tech.model_id != model_id:
        raise NotFound("That technology is not part of this model (it may have been deleted). Reload the page.")
    return tech


def _placeable(session: Session, model_id: int, tech_id: int) -> Technology:
    tech = _technology(session, model_id, tech_id)
    if _base(tech) == "transmission":
        raise EngageError(TRANSMISSION_AT_NODE)
    return tech


def _node(session: Session, model_id: int, node_id: int) -> Node:
    node = session.get(Node, node_id)
    if node is None or node.model_id != model_id:
        raise NotFound("That technology is no longer placed there (someone may have removed it). Reload the page.")
    return node


def _link(session: Session, model_id: int, link_id: int) -> Link:
    link = session.get(Link, link_id)
    if link is None or link.model_id != model_id:
        raise NotFound("That link is not part of this model (it may have been deleted). Reload the page.")
    return link


def _location_filter(stmt, model_id: int, text: str):
    stmt = stmt.where(Location.model_id == model_id)
    text = (text or "").strip()
    if text:
        stmt = stmt.where(Location.name.icontains(text, autoescape=True))
    return stmt


def _matches_tech(tech: Technology, text: str) -> bool:
    text = (text or "").strip().lower()
    return not text or any(text in s.lower() for s in (tech.name, tech.display_name or "", _base(tech)))


def _override_counts(session: Session, node_ids: list[int] | None, *, model_id: int,
                     by: str = "node") -> dict[int, int]:
    """Own values per node (or per technology, `by="tech"`): distinct parameter names."""
    stmt = (select(Node.id.label("node_id"), Node.technology_id.label("tech_id"), NodeParameter.name)
            .join(NodeParameter, NodeParameter.node_id == Node.id).where(Node.model_id == model_id))
    if node_ids is not None:
        stmt = stmt.where(Node.id.in_(node_ids))
    sub = stmt.distinct().subquery()
    key = sub.c.node_id if by == "node" else sub.c.tech_id
    return dict(session.exec(select(key, func.count()).group_by(key)).all())


def _delete_nodes(session: Session, node_ids: list[int]) -> None:
    """The nodes with their own values and their scenario switches (no ORM rows kept)."""
    for start in range(0, len(node_ids), 500):
        chunk = node_ids[start:start + 500]
        session.exec(delete(NodeParameter).where(NodeParameter.node_id.in_(chunk)))
        session.exec(delete(ScenarioNode).where(ScenarioNode.node_id.in_(chunk)))
        session.exec(delete(Node).where(Node.id.in_(chunk)))


def _node_view(session: Session, node: Node) -> NodeView:
    location = session.get(Location, node.location_id)
    tech = session.get(Technology, node.technology_id)
    overrides = _override_counts(session, [node.id], model_id=node.model_id).get(node.id, 0)
    return NodeView(id=node.id, model_id=node.model_id, location_id=location.id, location_name=location.name,
                    tech_id=tech.id, tech_name=tech.name, tech_label=_label(tech), base_tech=_base(tech),
                    override_count=overrides)


# ------------------------------------------------------------------ the placement grid


@open_to_visitors
def placement_grid(*, session: Session, user_id: int | None, model_id: int, location_filter: str = "",
                   tech_filter: str = "", offset: int = 0, limit: int = GRID_PAGE_SIZE) -> PlacementGrid:
    """A page of locations (rows) x the placeable technologies (columns) and which are placed.

    Locations are sorted by name and filtered by a part of their name; technologies are
    grouped by base tech and filtered by a part of their name, display name or base tech.
    """
    require_view(session=session, user_id=user_id, model_id=model_id)
    limit = max(1, min(int(limit or GRID_PAGE_SIZE), MAX_GRID_PAGE_SIZE))
    offset = max(0, int(offset or 0))

    techs = sorted(session.exec(select(Technology).where(Technology.model_id == model_id)).all(), key=_tech_order)
    placeable = [t for t in techs if _base(t) != "transmission"]
    columns = [t for t in placeable if _matches_tech(t, tech_filter)]
    node_counts = dict(session.exec(
        select(Node.technology_id, func.count(Node.id)).where(Node.model_id == model_id)
        .group_by(Node.technology_id)).all())
    override_counts = _override_counts(session, None, model_id=model_id, by="tech")

    total_locations = session.exec(select(func.count(Location.id)).where(Location.model_id == model_id)).one()
    matching = session.exec(_location_filter(select(func.count(Location.id)), model_id, location_filter)).one()
    if offset >= matching > 0:  # past the end (e.g. after a filter): show the last page
        offset = (matching - 1) // limit * limit
    page = session.exec(
        _location_filter(select(Location.id, Location.name), model_id, location_filter)
        .order_by(func.lower(Location.name), Location.id).offset(offset).limit(limit)).all()

    placed: dict[tuple[int, int], int] = {}
    if page and columns:
        rows = session.exec(select(Node.id, Node.location_id, Node.technology_id).where(
            Node.model_id == model_id, Node.location_id.in_([loc_id for loc_id, _ in page]))).all()
        placed = {(loc_id, tech_id): node_id for node_id, loc_id, tech_id in rows}

    groups: list[TechGroup] = []
    for tech in columns:
        if groups and groups[-1].base_tech == _base(tech):
            groups[-1] = TechGroup(base_tech=_base(tech), count=groups[-1].count + 1)
        else:
            groups.append(TechGroup(base_tech=_base(tech), count=1))
    return PlacementGrid(
        model_id=model_id,
        techs=[GridTech(id=t.id, name=t.name, label=_label(t), base_tech=_base(t), color=t.color or "",
                        node_count=node_counts.get(t.id, 0), override_count=override_counts.get(t.id, 0))
               for t in columns],
        groups=groups,
        rows=[GridRow(location_id=loc_id, location_name=name,
                      node_ids=[placed.get((loc_id, t.id), 0) for t in columns])
              for loc_id, name in page],
        offset=offset, limit=limit, matching_locations=matching, total_locations=total_locations,
        total_techs=len(placeable), total_nodes=sum(node_counts.values()),
        transmission_techs=len(techs) - len(placeable),
    )


# ------------------------------------------------------------------ one node


@open_to_visitors
def get_node(*, session: Session, user_id: int | None, model_id: int, node_id: int) -> NodeView:
    require_view(session=session, user_id=user_id, model_id=model_id)
    return _node_view(session, _node(session, model_id, node_id))


def place_tech(*, session: Session, user_id: int | None, model_id: int, location_id: int,
               tech_id: int) -> NodeChange:
    """Place a technology at a location; placing it again changes nothing and says so."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    location = _location(session, model_id, location_id)
    tech = _placeable(session, model_id, tech_id)
    existing = session.exec(select(Node.id).where(Node.location_id == location.id,
                                                  Node.technology_id == tech.id)).first()
    if existing is not None:
        return NodeChange(node_id=existing, changed=False,
                          message=f"“{_label(tech)}” is already at “{location.name}”.")
    node = Node(model_id=model_id, location_id=location.id, technology_id=tech.id)
    session.add(node)
    session.flush()
    detail = f"Placed “{_label(tech)}” at “{location.name}”"
    record_change(session=session, model=model, user_id=user_id, action="node.placed", detail=detail)
    return NodeChange(node_id=node.id, changed=True, message=detail + ".")


def remove_node(*, session: Session, user_id: int | None, model_id: int, node_id: int) -> NodeChange:
    """Remove a placed technology from its location, with the node's own values."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    view = _node_view(session, _node(session, model_id, node_id))
    _delete_nodes(session, [view.id])
    detail = f"Removed “{view.tech_label}” from “{view.location_name}”"
    if view.override_count:
        detail += f" and its {_own_values(view.override_count)}"
    record_change(session=session, model=model, user_id=user_id, action="node.removed", detail=detail)
    return NodeChange(node_id=0, changed=True, message=detail + ".")


# ------------------------------------------------------------------ whole columns and rows


def place_tech_everywhere(*, session: Session, user_id: int | None, model_id: int, tech_id: int,
                          location_filter: str = "") -> BulkChange:
    """Place a technology at every location (or every location whose name matches the filter)."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    tech = _placeable(session, model_id, tech_id)
    locations = session.exec(_location_filter(select(Location.id), model_id, location_filter)).all()
    there = set(session.exec(select(Node.location_id).where(Node.technology_id == tech.id)).all())
    missing = [loc_id for loc_id in locations if loc_id not in there]
    where = _where(location_filter)
    if not locations:
        raise EngageError(f"There are no locations{where} to place “{_label(tech)}” at.")
    if not missing:
        return BulkChange(count=0, overrides=0, message=f"“{_label(tech)}” is already at every location{where}.")
    session.add_all([Node(model_id=model_id, location_id=loc_id, technology_id=tech.id) for loc_id in missing])
    session.flush()
    detail = f"Placed “{_label(tech)}” at {plural(len(missing), 'location')}{where}"
    record_change(session=session, model=model, user_id=user_id, action="nodes.placed", detail=detail)
    return BulkChange(count=len(missing), overrides=0, message=detail + ".")


def remove_tech_everywhere(*, session: Session, user_id: int | None, model_id: int, tech_id: int,
                           location_filter: str = "") -> BulkChange:
    """Remove a technology from every location (or those matching the filter), with the nodes' own values."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    tech = _technology(session, model_id, tech_id)
    stmt = select(Node.id).join(Location, Location.id == Node.location_id).where(Node.technology_id == tech.id)
    node_ids = list(session.exec(_location_filter(stmt, model_id, location_filter)).all())
    where = _where(location_filter)
    if not node_ids:
        return BulkChange(count=0, overrides=0, message=f"“{_label(tech)}” is not placed at any location{where}.")
    overrides = sum(_override_counts(session, node_ids, model_id=model_id).values())
    _delete_nodes(session, node_ids)
    detail = f"Removed “{_label(tech)}” from {plural(len(node_ids), 'location')}{where}"
    if overrides:
        detail += f" with {_own_values(overrides)} of those nodes"
    record_change(session=session, model=model, user_id=user_id, action="nodes.removed", detail=detail)
    return BulkChange(count=len(node_ids), overrides=overrides, message=detail + ".")


def place_all_at_location(*, session: Session, user_id: int | None, model_id: int, location_id: int,
                          tech_filter: str = "") -> BulkChange:
    """Place every placeable technology (or those matching the filter) at one location."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    location = _location(session, model_id, location_id)
    techs = [t for t in session.exec(select(Technology).where(Technology.model_id == model_id)).all()
             if _base(t) != "transmission" and _matches_tech(t, tech_filter)]
    there = set(session.exec(select(Node.technology_id).where(Node.location_id == location.id)).all())
    missing = sorted((t for t in techs if t.id not in there), key=_tech_order)
    if not techs:
        raise EngageError("There are no technologies to place here yet: add some on the Technologies page.")
    if not missing:
        return BulkChange(count=0, overrides=0,
                          message=f"Every technology{_where(tech_filter)} is already at “{location.name}”.")
    session.add_all([Node(model_id=model_id, location_id=location.id, technology_id=t.id) for t in missing])
    session.flush()
    detail = f"Placed {plural(len(missing), 'technology', 'technologies')} at “{location.name}”"
    record_change(session=session, model=model, user_id=user_id, action="nodes.placed", detail=detail)
    return BulkChange(count=len(missing), overrides=0, message=detail + ".")


def _where(text: str) -> str:
    text = (text or "").strip()
    return f" matching “{text}”" if text else ""


# ------------------------------------------------------------------ links


@open_to_visitors
def list_links(*, session: Session, user_id: int | None, model_id: int) -> LinksView:
    """The model's links, and what a new link can be made of (transmission techs, locations)."""
    require_view(session=session, user_id=user_id, model_id=model_id)
    start, end = aliased(Location), aliased(Location)
    rows = session.exec(
        select(Link, Technology, start.name, end.name)
        .join(Technology, Technology.id == Link.technology_id)
        .join(start, start.id == Link.from_location_id).join(end, end.id == Link.to_location_id)
        .where(Link.model_id == model_id)).all()
    own = dict(session.exec(
        select(LinkParameter.link_id, func.count(func.distinct(LinkParameter.name)))
        .join(Link, Link.id == LinkParameter.link_id).where(Link.model_id == model_id)
        .group_by(LinkParameter.link_id)).all())
    links = [LinkView(id=link.id, name=link.name, tech_id=tech.id, tech_name=tech.name, tech_label=_label(tech),
                      from_location_id=link.from_location_id, from_location=a,
                      to_location_id=link.to_location_id, to_location=b, override_count=own.get(link.id, 0))
             for link, tech, a, b in rows]
    links.sort(key=lambda v: (v.name.lower(), v.id))
    techs = sorted(session.exec(select(Technology).where(Technology.model_id == model_id,
                                                         Technology.base_tech == "transmission")).all(),
                   key=_tech_order)
    locations = session.exec(select(Location.id, Location.name).where(Location.model_id == model_id)
                             .order_by(func.lower(Location.name), Location.id)).all()
    return LinksView(model_id=model_id, links=links,
                     transmission_techs=[Choice(id=t.id, label=_label(t)) for t in techs],
                     locations=[Choice(id=loc_id, label=name) for loc_id, name in locations])


def _transmission(session: Session, model_id: int, tech_id: int) -> Technology:
    tech = _technology(session, model_id, tech_id)
    if _base(tech) != "transmission":
        raise EngageError(f"“{_label(tech)}” is a {_base(tech)} technology: only transmission technologies "
                          "can link two locations. Place it at a location in the grid instead.")
    return tech


def _ends(session: Session, model_id: int, from_location_id, to_location_id) -> tuple[Location, Location]:
    if not from_location_id or not to_location_id:
        raise EngageError("Choose the two locations the link connects.")
    if int(from_location_id) == int(to_location_id):
        raise EngageError(SAME_LOCATION)
    return (_location(session, model_id, int(from_location_id)),
            _location(session, model_id, int(to_location_id)))


def _refuse_duplicate(session: Session, tech: Technology, a: Location, b: Location, exclude: int | None) -> None:
    stmt = select(Link.name).where(
        Link.technology_id == tech.id,
        or_((Link.from_location_id == a.id) & (Link.to_location_id == b.id),
            (Link.from_location_id == b.id) & (Link.to_location_id == a.id)))
    if exclude is not None:
        stmt = stmt.where(Link.id != exclude)
    name = session.exec(stmt).first()
    if name is not None:
        raise EngageError(f"“{a.name}” and “{b.name}” are already linked with “{_label(tech)}” (the link “{name}”). "
                          "Change that link's values instead of adding a second one.")


def _taken_names(session: Session, model_id: int, exclude_link: int | None) -> tuple[set[str], dict[str, int]]:
    """Names of the model's other links, and its technologies' names -> ids."""
    stmt = select(Link.name).where(Link.model_id == model_id)
    if exclude_link is not None:
        stmt = stmt.where(Link.id != exclude_link)
    links = set(session.exec(stmt).all())
    techs = dict(session.exec(select(Technology.name, Technology.id).where(Technology.model_id == model_id)).all())
    return links, techs


def _key_part(text: str) -> str:
    return re.sub(r"\W+", "_", text).strip("_")


def default_link_names(tech_name: str, from_name: str, to_name: str) -> list[str]:
    """The names a new link may get, best first: "<from>_to_<to>" as in Calliope's examples,
    then "<tech>_<from>_to_<to>" when another link or technology already has that one."""
    base = f"{_key_part(from_name)}_to_{_key_part(to_name)}"
    if not _KEY.fullmatch(base):
        base = f"link_{base}"
    tech = _key_part(tech_name)
    return [base, f"{tech if _KEY.fullmatch(tech) else 'link'}_{base}"]


def _new_name(tech: Technology, a: Location, b: Location, links: set[str], techs: dict[str, int]) -> str:
    candidates = default_link_names(tech.name, a.name, b.name)
    for name in candidates:
        if name not in links and name not in techs and len(name) <= LINK_NAME_MAX:
            return name
    stem = candidates[-1][:LINK_NAME_MAX - 6]
    n = 2
    while f"{stem}_{n}" in links or f"{stem}_{n}" in techs:
        n += 1
    return f"{stem}_{n}"


def _is_generated(name: str, tech: Technology, a: Location, b: Location) -> bool:
    candidates = default_link_names(tech.name, a.name, b.name)
    return name in candidates or bool(re.fullmatch(re.escape(candidates[-1][:LINK_NAME_MAX - 6]) + r"_\d+", name))


def _check_name(name: str, tech: Technology, links: set[str], techs: dict[str, int]) -> str:
    name = check_calliope_name(name.strip(), what="link")
    if name in links:
        raise EngageError(f"There is already a link called “{name}”. Choose another name.")
    if techs.get(name, tech.id) != tech.id:
        raise EngageError(f"“{name}” is the name of a technology: a link needs a name of its own.")
    return name


def add_link(*, session: Session, user_id: int | None, model_id: int, tech_id: int, from_location_id: int,
             to_location_id: int, name: str | None = None) -> LinkView:
    """Link two locations with a transmission technology (one Calliope link tech)."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    tech = _transmission(session, model_id, tech_id)
    a, b = _ends(session, model_id, from_location_id, to_location_id)
    _refuse_duplicate(session, tech, a, b, exclude=None)
    links, techs = _taken_names(session, model_id, None)
    name = _check_name(name, tech, links, techs) if name and name.strip() else _new_name(tech, a, b, links, techs)
    link = Link(model_id=model_id, name=name, technology_id=tech.id, from_location_id=a.id, to_location_id=b.id)
    session.add(link)
    session.flush()
    record_change(session=session, model=model, user_id=user_id, action="link.added",
                  detail=f"Linked “{a.name}” and “{b.name}” with “{_label(tech)}”")
    return LinkView(id=link.id, name=name, tech_id=tech.id, tech_name=tech.name, tech_label=_label(tech),
                    from_location_id=a.id, from_location=a.name, to_location_id=b.id, to_location=b.name,
                    override_count=0)


def _named_in_scenarios(session: Session, model_id: int, name: str) -> bool:
    overrides = session.exec(select(Scenario.overrides).where(Scenario.model_id == model_id)).all()
    return any(name in ((o or {}).get("techs") or {}) for o in overrides)


def update_link(*, session: Session, user_id: int | None, model_id: int, link_id: int, from_location_id: int,
                to_location_id: int, name: str | None = None) -> LinkView:
    """Change where a link starts and ends (and optionally its name).

    A name Engage made up for the old ends follows the new ends, unless a scenario's
    overrides use it; a name the planner chose stays.
    """
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    link = _link(session, model_id, link_id)
    tech = _technology(session, model_id, link.technology_id)
    old_a, old_b = session.get(Location, link.from_location_id), session.get(Location, link.to_location_id)
    a, b = _ends(session, model_id, from_location_id, to_location_id)
    _refuse_duplicate(session, tech, a, b, exclude=link.id)
    links, techs = _taken_names(session, model_id, link.id)
    if name and name.strip():
        new_name = _check_name(name, tech, links, techs)
    elif (a.id, b.id) != (old_a.id, old_b.id) and _is_generated(link.name, tech, old_a, old_b) \
            and not _named_in_scenarios(session, model_id, link.name):
        new_name = _new_name(tech, a, b, links, techs)
    else:
        new_name = link.name
    if (a.id, b.id, new_name) == (old_a.id, old_b.id, link.name):
        raise EngageError("Nothing to change: the link already connects these locations under that name.")
    old_name = link.name
    link.from_location_id, link.to_location_id, link.name = a.id, b.id, new_name
    session.add(link)
    session.flush()
    detail = (f"Changed the link “{old_name}” to connect “{a.name}” and “{b.name}”"
              if (a.id, b.id) != (old_a.id, old_b.id) else f"Renamed the link “{old_name}”")
    if new_name != old_name:
        detail += f" (now called “{new_name}”)"
    record_change(session=session, model=model, user_id=user_id, action="link.changed", detail=detail)
    own = session.exec(select(func.count(func.distinct(LinkParameter.name)))
                       .where(LinkParameter.link_id == link.id)).one()
    return LinkView(id=link.id, name=new_name, tech_id=tech.id, tech_name=tech.name, tech_label=_label(tech),
                    from_location_id=a.id, from_location=a.name, to_location_id=b.id, to_location=b.name,
                    override_count=own)


def delete_link(*, session: Session, user_id: int | None, model_id: int, link_id: int) -> str:
    """Remove a link with its own values; returns what was done, in planner words."""
    model = require_edit(session=session, user_id=user_id, model_id=model_id)
    link = _link(session, model_id, link_id)
    a, b = session.get(Location, link.from_location_id), session.get(Location, link.to_location_id)
    own = session.exec(select(func.count(func.distinct(LinkParameter.name)))
                       .where(LinkParameter.link_id == link.id)).one()
    name = link.name
    session.exec(delete(LinkParameter).where(LinkParameter.link_id == link.id))
    session.exec(delete(ScenarioLink).where(ScenarioLink.link_id == link.id))
    session.exec(delete(Link).where(Link.id == link.id))
    detail = f"Removed the link “{name}” between “{a.name}” and “{b.name}”"
    if own:
        detail += f" and its {_own_values(own)}"
    record_change(session=session, model=model, user_id=user_id, action="link.removed", detail=detail)
    return detail + "."


__all__ = [
    "SAME_LOCATION", "TRANSMISSION_AT_NODE", "add_link", "default_link_names", "delete_link",
    "get_node", "list_links", "place_all_at_location", "place_tech", "place_tech_everywhere", "placement_grid",
    "remove_node", "remove_tech_everywhere", "update_link",
]
