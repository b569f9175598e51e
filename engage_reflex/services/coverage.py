"""Do the timeseries a scenario uses hold data over the run period? Checked before a run is queued.

Engage's most common failed run was "timeseries do not span the selected run period": this module
finds every series the scenario really uses and refuses a period one of them does not cover, naming
the series and its dates, before anything is recorded.

Which zone the dates are in: the exporter writes every series with naive UTC times, and the run
dates reach Calliope as `config.init.subset.timesteps`, a label slice on that axis
(calliope_io/exporter.py `_runtime_overrides`). So a run date is a UTC day whatever the model's
zone, and coverage is judged on UTC days too (RUN_DATES_ZONE). Should the exporter ever shift the
dates to the model's zone, `run_dates_zone` is the one place to follow it.

A period is covered by a series when every time step of it has a value: the series starts at or
before the period's first instant, its last step ends at or after the period's end, and it has no
gap longer than its own (most common) step in between.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session, select

from engage_reflex.models import (
    EnergyModel,
    Link,
    LinkParameter,
    Location,
    ModelParameter,
    Node,
    NodeParameter,
    Scenario,
    ScenarioLink,
    ScenarioNode,
    Technology,
    TechParameter,
    Timeseries,
)
from engage_reflex.models.series_blob import unpack_stored
from engage_reflex.schemas.coverage import CoverageView, SeriesCoverage
from engage_reflex.services.access import require_view
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.periods import parse_date
from engage_reflex.services.timeseries import model_zone

RUN_DATES_ZONE = "UTC"
MAX_NAMED = 5  # how many uncovered series a refusal spells out before "… and N more"
TIME_STEPS_PARAMETER = "timestep_weights"  # models.TIME_STEPS_PARAMETER (not imported: models imports much)
_HOUR = np.timedelta64(3600, "s")
_LABEL = "%Y-%m-%d %H:%M"
_NAME = "\x00"  # where a message names its series (see _named)
_PLURAL = {"covers": "cover", "has": "have", "holds": "hold"}


def run_dates_zone(model: EnergyModel) -> str:
    """The zone the run's dates are applied in: UTC, as the exporter hands them to Calliope."""
    return RUN_DATES_ZONE


# ------------------------------------------------------------------------ service


def scenario_coverage(*, session: Session, user_id: int | None, scenario_id: int, start: str | None = None,
                      end: str | None = None) -> CoverageView:
    """Every series the scenario uses against the run period: the chosen dates (YYYY-MM-DD, both
    included) or, with none, the period Calliope would use (config.init.subset, else every time step)."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"There is no scenario with id {scenario_id}.")
    model = require_view(session=session, user_id=user_id, model_id=scenario.model_id)
    zone = run_dates_zone(model)
    chosen = _chosen_days(start, end)
    uses, attached = _series_uses(session, model.id, scenario)
    spans = _load_spans(session, model.id, uses)
    axis = _time_axis(session, model.id, spans, attached)
    period = _period(chosen, scenario, model, axis, zone)
    judged = sorted((_judge(span, uses[span.id], period, zone) for span in spans),
                    key=lambda j: (j[0].covers, j[0].name.lower(), j[0].name))
    series = [coverage for coverage, _ in judged]
    messages = _messages(judged, period, axis, zone, named=len(judged))
    refusal = " ".join(_messages(judged, period, axis, zone, named=MAX_NAMED)) if messages else ""
    return CoverageView(
        model_id=model.id, scenario_id=scenario.id, scenario_name=scenario.name, time_zone=zone,
        model_time_zone=model_zone(model), period_start=period.first_day if period else "",
        period_end=period.last_day if period else "", period_source=period.source if period else "data",
        series=tuple(series), messages=tuple(messages), refusal=refusal,
    )


def require_coverage(*, session: Session, user_id: int | None, scenario_id: int, start: str | None = None,
                     end: str | None = None) -> CoverageView:
    """`scenario_coverage`, raising EngageError with its messages when the period is not covered."""
    view = scenario_coverage(session=session, user_id=user_id, scenario_id=scenario_id, start=start, end=end)
    if not view.covered:
        raise EngageError(view.refusal)
    return view


def period_note(view: CoverageView) -> str:
    """The run period in words: its days, where they come from, the zone they are read in."""
    if not view.period_start:
        return "The model has no time steps yet: upload a timeseries and use it in a parameter."
    source = {"chosen": "the dates chosen above", "model": "the model's own run period (config.init.subset)",
              "data": "every time step of the model, as no dates are chosen"}[view.period_source]
    zone = (f" (not the model's own zone, {view.model_time_zone})" if view.model_time_zone != view.time_zone
            else "")
    count = len(view.series)
    return (f"Run period {view.period_start} – {view.period_end}: {source}. Days are {view.time_zone} days, "
            f"as Calliope reads run dates{zone}. The scenario uses {count} timeseries.")


# ------------------------------------------------------------------------ the run period


@dataclasses.dataclass(frozen=True)
class _Period:
    begin: np.datetime64  # first instant (naive UTC)
    stop: np.datetime64  # first instant after it
    first_day: str
    last_day: str
    source: str  # "chosen" | "model" | "data"


def _chosen_days(start: str | None, end: str | None) -> tuple[date, date] | None:
    start_text, end_text = (start or "").strip(), (end or "").strip()
    if not start_text and not end_text:
        return None
    if not start_text or not end_text:
        raise EngageError("Give both a start and an end date, or leave both empty to use the model's own period.")
    first, last = parse_date(start_text, "start"), parse_date(end_text, "end")
    if first > last:
        raise EngageError(f"The start date {first} is after the end date {last}.")
    return first, last


def _midnight(day: date, zone: str) -> np.datetime64:
    """The first instant of `day` in `zone`, as naive UTC."""
    moment = pd.Timestamp(day).tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return np.datetime64(moment.tz_convert("UTC").tz_localize(None).to_datetime64(), "s")


def _local(moment: np.datetime64, zone: str) -> pd.Timestamp:
    return pd.Timestamp(moment).tz_localize("UTC").tz_convert(zone)


def _label(moment: np.datetime64, zone: str) -> str:
    return _local(moment, zone).strftime(_LABEL)


def _days_period(first: date, last: date, zone: str, source: str) -> _Period:
    return _Period(_midnight(first, zone), _midnight(last + timedelta(days=1), zone), first.isoformat(),
                   last.isoformat(), source)


def _subset_setting(scenario: Scenario, model: EnergyModel):
    """config.init.subset.timesteps as the scenario would set it (overrides, settings, then the model)."""
    overrides = scenario.overrides or {}
    from_overrides = (((overrides.get("config") or {}).get("init") or {}).get("subset") or {})
    if isinstance(from_overrides, dict) and from_overrides.get("timesteps"):
        return from_overrides["timesteps"]
    if (scenario.settings or {}).get("config.init.subset.timesteps"):
        return scenario.settings["config.init.subset.timesteps"]
    subset = ((model.calliope_config or {}).get("init") or {}).get("subset") or {}
    return subset.get("timesteps") if isinstance(subset, dict) else None


def _model_subset(scenario: Scenario, model: EnergyModel) -> tuple[date, date] | None:
    raw = _subset_setting(scenario, model)
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        return None
    try:  # "2005-01" is the whole month, as Calliope reads it
        first, last = pd.Period(str(raw[0])).start_time.date(), pd.Period(str(raw[1])).end_time.date()
    except (ValueError, TypeError):
        return None  # the model check reports a broken subset; the run then uses every time step
    return (first, last) if first <= last else None


def _period(chosen, scenario: Scenario, model: EnergyModel, axis, zone: str) -> _Period | None:
    if chosen is not None:
        return _days_period(*chosen, zone, "chosen")
    subset = _model_subset(scenario, model)
    if subset is not None:
        return _days_period(*subset, zone, "model")
    if axis is None:
        return None
    begin, last = axis
    # Every time step: the last one must be there, so the period ends just after it.
    return _Period(begin, last + np.timedelta64(1, "s"), _local(begin, zone).date().isoformat(),
                   _local(last, zone).date().isoformat(), "data")


# ------------------------------------------------------------------------ which series are used


def _label_of(row) -> str:
    return row.name + (f" [{row.index_key.replace('|', ', ')}]" if row.index_key else "")


def _keys(rows: Iterable, owner: str) -> dict[int, set[tuple[str, str]]]:
    """{owner id: (parameter, index) pairs it sets itself}: those win over its tech's series."""
    out: dict[int, set[tuple[str, str]]] = {}
    for row in rows:
        out.setdefault(getattr(row, owner), set()).add((row.name, row.index_key))
    return out


def _series_uses(session: Session, model_id: int, scenario: Scenario) -> tuple[dict[int, list[str]], set[int]]:
    """{series id: what uses it} for the series this scenario's run reads, and the ids of every
    series any parameter points at (Calliope's time axis spans them all, used or not). Multi-year
    values are left out, as the exporter leaves them out."""
    off_nodes = set(session.exec(select(ScenarioNode.node_id).where(
        ScenarioNode.scenario_id == scenario.id, ScenarioNode.active.is_(False))).all())
    off_links = set(session.exec(select(ScenarioLink.link_id).where(
        ScenarioLink.scenario_id == scenario.id, ScenarioLink.active.is_(False))).all())
    locations = {loc.id: loc for loc in session.exec(select(Location).where(Location.model_id == model_id)).all()}
    off_locations = {i for i, loc in locations.items() if (loc.extra or {}).get("active") is False}
    techs = {t.id: t for t in session.exec(select(Technology).where(Technology.model_id == model_id)).all()}
    nodes = [n for n in session.exec(select(Node).where(Node.model_id == model_id)).all()
             if n.id not in off_nodes and n.location_id not in off_locations]
    links = [li for li in session.exec(select(Link).where(Link.model_id == model_id)).all()
             if li.id not in off_links and not {li.from_location_id, li.to_location_id} & off_locations]
    model_rows = session.exec(select(ModelParameter).where(
        ModelParameter.model_id == model_id, ModelParameter.timeseries_id.is_not(None),
        ModelParameter.year.is_(None))).all()
    tech_rows = session.exec(select(TechParameter).join(Technology, Technology.id == TechParameter.technology_id)
                             .where(Technology.model_id == model_id, TechParameter.year.is_(None))).all()
    node_rows = session.exec(select(NodeParameter).join(Node, Node.id == NodeParameter.node_id)
                             .where(Node.model_id == model_id, NodeParameter.year.is_(None))).all()
    link_rows = session.exec(select(LinkParameter).join(Link, Link.id == LinkParameter.link_id)
                             .where(Link.model_id == model_id, LinkParameter.year.is_(None))).all()
    attached = {r.timeseries_id for r in (*model_rows, *tech_rows, *node_rows, *link_rows) if r.timeseries_id}
    uses: dict[int, list[str]] = {}

    def use(series_id: int, text: str) -> None:
        uses.setdefault(series_id, []).append(text)

    for row in model_rows:
        use(row.timeseries_id, "the model's time steps (timestep_weights)" if row.name == TIME_STEPS_PARAMETER
            else f"the whole model: {_label_of(row)}")
    node_keys, link_keys = _keys(node_rows, "node_id"), _keys(link_rows, "link_id")
    for row in (r for r in tech_rows if r.timeseries_id):
        tech = techs[row.technology_id]
        key = (row.name, row.index_key)
        # A tech's series is read wherever the tech is on and sets no value of its own.
        where = ([li for li in links if li.technology_id == tech.id] if _base(tech) == "transmission"
                 else [n for n in nodes if n.technology_id == tech.id])
        owners = link_keys if _base(tech) == "transmission" else node_keys
        if any(key not in owners.get(item.id, set()) for item in where):
            use(row.timeseries_id, f"{tech.name}: {_label_of(row)}")
    active_nodes = {n.id: n for n in nodes}
    for row in (r for r in node_rows if r.timeseries_id and r.node_id in active_nodes):
        node = active_nodes[row.node_id]
        use(row.timeseries_id, f"{techs[node.technology_id].name} at {locations[node.location_id].name}: "
                               f"{_label_of(row)}")
    active_links = {li.id: li for li in links}
    for row in (r for r in link_rows if r.timeseries_id and r.link_id in active_links):
        use(row.timeseries_id, f"link {active_links[row.link_id].name}: {_label_of(row)}")
    return {k: sorted(set(v), key=str.lower) for k, v in uses.items()}, attached


def _base(tech: Technology) -> str:
    return str(getattr(tech.base_tech, "value", tech.base_tech))


# ------------------------------------------------------------------------ spans


@dataclasses.dataclass(frozen=True)
class _Span:
    id: int
    name: str
    stamps: np.ndarray  # datetime64[s], naive UTC: the times that hold a value
    step: np.timedelta64


def _step(stamps: np.ndarray) -> np.timedelta64:
    """The most common distance between neighbouring times (an hour for a single time)."""
    if len(stamps) < 2:
        return _HOUR
    diffs = np.diff(stamps).astype("timedelta64[s]").astype(np.int64)
    distinct, counts = np.unique(diffs, return_counts=True)
    return np.timedelta64(int(distinct[np.argmax(counts)]), "s")


def _load_spans(session: Session, model_id: int, uses: dict[int, list[str]]) -> list[_Span]:
    if not uses:
        return []
    rows = session.exec(select(Timeseries.id, Timeseries.name, Timeseries.data).where(
        Timeseries.model_id == model_id, Timeseries.id.in_(sorted(uses)))).all()
    spans = []
    for series_id, name, blob in rows:
        try:
            stamps, values = unpack_stored(blob)
        except ValueError:
            raise EngageError(f"The stored timeseries “{name}” is damaged; upload it again.") from None
        stamps = stamps[np.isfinite(values)]
        spans.append(_Span(series_id, name, stamps, _step(stamps)))
    return spans


def _as_stamp(moment) -> np.datetime64:
    moment = pd.Timestamp(moment)
    if moment.tzinfo is not None:  # SQLite hands the column back without its zone; both are UTC
        moment = moment.tz_convert("UTC").tz_localize(None)
    return np.datetime64(moment.to_datetime64(), "s")


def _time_axis(session: Session, model_id: int, spans: list[_Span],
               attached: set[int]) -> tuple[np.datetime64, np.datetime64] | None:
    """First and last time step of Calliope's time axis: every attached series (or, in a model
    whose series are attached to nothing yet, every series it has)."""
    query = select(Timeseries.start, Timeseries.end).where(Timeseries.model_id == model_id)
    if attached:
        query = query.where(Timeseries.id.in_(sorted(attached)))
    ends = [(_as_stamp(a), _as_stamp(b)) for a, b in session.exec(query).all()
            if a is not None and b is not None]
    ends += [(s.stamps[0], s.stamps[-1]) for s in spans if len(s.stamps)]
    if not ends:
        return None
    return min(a for a, _ in ends), max(b for _, b in ends)


def _whole_days(span: _Span, zone: str) -> tuple[str, str]:
    """First and last whole day (in `zone`) the series holds, ignoring gaps ("" when none)."""
    if not len(span.stamps):
        return "", ""
    first = _local(span.stamps[0], zone)
    first_day = first.date() if first == first.normalize() else first.date() + timedelta(days=1)
    last_day = _local(span.stamps[-1] + span.step, zone).date() - timedelta(days=1)
    return (first_day.isoformat(), last_day.isoformat()) if first_day <= last_day else ("", "")


def _gap(span: _Span, period: _Period) -> tuple[np.datetime64, np.datetime64] | None:
    """The first stretch inside the period with no value (from the end of a step to the next time)."""
    stamps = span.stamps
    low = max(int(np.searchsorted(stamps, period.begin, side="right")) - 1, 0)
    high = int(np.searchsorted(stamps, period.stop, side="left"))
    window = stamps[low:high]
    if len(window) < 2:
        return None
    late = np.flatnonzero(np.diff(window) > span.step)
    if not len(late):
        return None
    return window[late[0]] + span.step, window[late[0] + 1]


# ------------------------------------------------------------------------ judging


def _judge(span: _Span, used_by: list[str], period: _Period | None,
           zone: str) -> tuple[SeriesCoverage, str]:
    """The series' coverage, and its message with _NAME for its name (series with the same problem
    share one message)."""
    first_day, last_day = _whole_days(span, zone)
    has = len(span.stamps) > 0
    labels = ((_label(span.stamps[0], zone), _label(span.stamps[-1], zone), _label(span.stamps[-1] + span.step, zone))
              if has else ("", "", ""))
    template = "" if period is None else _problem(span, period, first_day, last_day, labels, zone)
    message = _named(template, [span.name]) if template else ""
    return SeriesCoverage(series_id=span.id, name=span.name, first=labels[0], last=labels[1],
                          data_until=labels[2], first_day=first_day, last_day=last_day, used_by=tuple(used_by),
                          covers=not message, message=message), template


def _problem(span: _Span, period: _Period, first_day: str, last_day: str, labels, zone: str) -> str:
    """Why the series does not cover the period, for a planner ("" when it does)."""
    name, run = _NAME, f"{period.first_day} to {period.last_day}"
    if not len(span.stamps):
        return f"The timeseries {name} holds no values, but the run period is {run}: upload its data again."
    starts_in_time = span.stamps[0] <= period.begin
    ends_in_time = span.stamps[-1] + span.step >= period.stop
    if starts_in_time and ends_in_time:
        gap = _gap(span, period)
        if gap is None:
            return ""
        return (f"The timeseries {name} has no data from {_label(gap[0], zone)} to {_label(gap[1], zone)} "
                f"({zone}), inside the run period {run}: choose dates that avoid that gap, or upload the "
                "missing values.")
    if not first_day:
        return (f"The timeseries {name} holds less than one whole day of data ({labels[0]} to {labels[2]}, "
                f"{zone}), but the run period is {run}: upload data for the whole run period.")
    covers = f"The timeseries {name} covers {first_day} to {last_day}"
    if period.source != "chosen":
        whose = ("the model's own run period (config.init.subset)" if period.source == "model"
                 else "with no dates chosen, the run uses every time step of the model,")
        return f"{covers}, but {whose} {run}."
    missing = []
    if period.first_day < first_day:
        missing.append(f"{period.first_day} to {_day_before(first_day)}")
    if period.last_day > last_day:
        missing.append(f"{_day_after(last_day)} to {period.last_day}")
    return (f"{covers}, but the run period is {run}: choose dates inside {first_day} – {last_day}, or upload "
            f"data for {' and '.join(missing) or 'the missing time steps'}.")


def _day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def _day_after(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _named(template: str, names: list[str], more: int = 0) -> str:
    """The message with its series named: “a”, “b” and 3 more cover …"""
    quoted = [f"“{name}”" for name in names] + ([f"{more} more"] if more else [])
    text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    head, tail = template.split(_NAME)
    if len(names) + more > 1:
        verb, rest = tail[1:].split(" ", 1)
        tail = f" {_PLURAL.get(verb, verb)} {rest}"
    return head + text + tail


def _messages(judged: list[tuple[SeriesCoverage, str]], period: _Period | None, axis, zone: str, *,
              named: int) -> list[str]:
    """The period outside the model's time axis (chosen dates only), one message per problem naming
    at most `named` series in all, and, when no dates were chosen, where to choose them."""
    if period is None:
        return []
    groups: dict[str, list[str]] = {}
    for coverage, template in judged:
        if not coverage.covers:
            groups.setdefault(template, []).append(coverage.name)
    messages, unnamed = [], 0
    for template, names in groups.items():
        if named <= 0:
            unnamed += len(names)
            continue
        messages.append(_named(template, names[:named], max(len(names) - named, 0)))
        named -= len(names)
    if unnamed:
        messages.append(f"… and {unnamed} more timeseries {'does' if unnamed == 1 else 'do'} not cover the run "
                        "period either.")
    if period.source == "chosen" and axis is not None:
        axis_first, axis_last = (_local(moment, zone).date().isoformat() for moment in axis)
        if period.first_day < axis_first or period.last_day > axis_last:
            messages.insert(0, f"The model's timeseries cover {axis_first} to {axis_last}; choose dates inside "
                               f"that span (you chose {period.first_day} to {period.last_day}).")
    if period.source != "chosen" and messages:
        messages.append(_advice([coverage for coverage, _ in judged]))
    return messages


def _advice(series: list[SeriesCoverage]) -> str:
    """Where every series has data: what to choose when the run's own period is not covered."""
    days = [(s.first_day, s.last_day) for s in series if s.first_day]
    common = (max(a for a, _ in days), min(b for _, b in days)) if days and len(days) == len(series) else None
    if common and common[0] <= common[1]:
        return (f"Choose run dates where all series have data: inside {common[0]} – {common[1]}, or upload "
                "data so that every series covers the whole period.")
    return ("There are no dates where all series have data: upload data so that the series overlap, then "
            "choose run dates inside that overlap.")


__all__ = ["MAX_NAMED", "RUN_DATES_ZONE", "period_note", "require_coverage", "run_dates_zone", "scenario_coverage"]
