"""Compare two succeeded runs of one model: what differed in their inputs (services/compare_inputs.py),
and what that did to the results: the objective, capacity (capacity.csv) and costs per cost class
(costs.csv), per technology and location, with the nonzero changes first.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlmodel import Session, select

from engage_reflex.models import Carrier, Run, RunStatus
from engage_reflex.schemas import RunView
from engage_reflex.schemas.compare import ComparisonView, CostClassTotal, RunChoice, ValueDelta
from engage_reflex.services import runs
from engage_reflex.services.access import require_view
from engage_reflex.services.compare_inputs import artefact_path, input_changes, run_option_changes
from engage_reflex.services.errors import EngageError

RESULT_COLUMNS = {
    "capacity": ["node", "tech", "carrier", "variable", "value"],
    "costs": ["node", "tech", "cost_class", "value"],
    "techs": ["tech", "name", "color", "base_tech"],
}
# Demand is not built capacity.
NOT_CAPACITY = ("demand",)
RELATIVE_TOLERANCE = 1e-6


def comparable_runs(*, session: Session, user_id: int, model_id: int) -> list[RunChoice]:
    """The model's succeeded runs this user may see, newest first, labelled for a select."""
    return [RunChoice(id=str(run.id), label=_choice_label(run))
            for run in runs.list_runs(session=session, user_id=user_id, model_id=model_id)
            if run.status == RunStatus.succeeded.value]


def _choice_label(run: RunView) -> str:
    parts = [f"#{run.id}", run.scenario_name, run.created_at[:16].replace("T", " ")]
    if run.notes:
        parts.append(run.notes if len(run.notes) <= 40 else run.notes[:39] + "…")
    return " · ".join(p for p in parts if p)


def compare_runs(*, session: Session, user_id: int, model_id: int, run_a: int, run_b: int) -> ComparisonView:
    """Run `run_a` (the first) against `run_b` (the second) of model `model_id`."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    if run_a == run_b:
        raise EngageError(f"Both choices are run #{run_a}. Pick two different runs to compare.")
    views = [runs.get_run(session=session, user_id=user_id, run_id=run_id) for run_id in (run_a, run_b)]
    rows = []
    for view in views:
        if view.model_id != model_id:
            raise EngageError(f"Run #{view.id} belongs to another model (“{view.model_name}”); "
                              "only runs of the same model can be compared.")
        if view.status != RunStatus.succeeded.value:
            raise EngageError(f"Run #{view.id} has {_status_words(view.status)}, so it has no results to compare. "
                              "Pick a run that succeeded.")
        rows.append(session.get(Run, view.id))
    first, second = rows
    tables = [_result_tables(run) for run in rows]
    units = _units(session, model_id)
    techs = pd.concat([tables[0]["techs"], tables[1]["techs"]]).drop_duplicates("tech", keep="last")

    options = run_option_changes(first, second, views)
    changes, note = input_changes(first, second, options)
    capacity_changes, capacity_same = _capacity_deltas(tables[0]["capacity"], tables[1]["capacity"], techs, units)
    totals, cost_changes, cost_same = _cost_deltas(tables[0]["costs"], tables[1]["costs"], techs)
    objective_delta = (views[1].objective - views[0].objective
                       if views[0].objective is not None and views[1].objective is not None else None)
    return ComparisonView(
        model_id=model.id, model_name=model.name, first=views[0], second=views[1],
        input_changes=options + changes, inputs_note=note,
        objective_first=views[0].objective, objective_second=views[1].objective, objective_delta=objective_delta,
        capacity_changes=capacity_changes, capacity_unchanged=capacity_same,
        cost_totals=totals, cost_changes=cost_changes, cost_unchanged=cost_same,
        capacity_tables=(tables[0]["capacity"], tables[1]["capacity"]),
        cost_tables=(tables[0]["costs"], tables[1]["costs"]), techs=techs,
        capacity_unit=_common_rate_unit(tables[0]["capacity"], tables[1]["capacity"], units),
    )


def _common_rate_unit(a: pd.DataFrame, b: pd.DataFrame, units: dict[str, tuple[str, str]]) -> str:
    carriers = set(a.loc[a["variable"] == "flow_cap", "carrier"]) | set(b.loc[b["variable"] == "flow_cap", "carrier"])
    rates = {units.get(carrier, ("", ""))[0] for carrier in carriers}
    return rates.pop() if len(rates) == 1 else ""


def _status_words(status: str) -> str:
    return {"failed": "failed", "cancelled": "been cancelled"}.get(status, "not finished yet")


def _result_tables(run: Run) -> dict[str, pd.DataFrame]:
    tables = {}
    for kind in RESULT_COLUMNS:
        path = artefact_path(run, kind, f"{kind}.csv")
        if path is None:
            raise EngageError(f"The result files of run #{run.id} are missing on the server, so it cannot be "
                              "compared. Run it again, then compare the new run.")
        tables[kind] = read_result_table(path, kind)
    return tables


def read_result_table(path: Path, kind: str) -> pd.DataFrame:
    """One of a run's tidy result tables (capacity, costs, techs), labels as text, values as numbers."""
    columns = RESULT_COLUMNS[kind]
    try:
        frame = pd.read_csv(path, dtype={c: "string" for c in columns if c != "value"}, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise EngageError(f"The result file {path.name} cannot be read ({exc}).") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EngageError(f"The result file {path.name} lacks the columns {', '.join(missing)}.")
    frame = frame[columns].astype({c: str for c in columns if c != "value"})
    if "value" in columns:
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce").fillna(0.0)
    return frame


def _units(session: Session, model_id: int) -> dict[str, tuple[str, str]]:
    rows = session.exec(select(Carrier.name, Carrier.rate_unit, Carrier.quantity_unit)
                        .where(Carrier.model_id == model_id)).all()
    return {name: (rate or "", quantity or "") for name, rate, quantity in rows}


def _changed(a: float, b: float) -> bool:
    return abs(b - a) > RELATIVE_TOLERANCE * max(1.0, abs(a), abs(b))


def _merge(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    merged = pd.merge(a.groupby(keys, as_index=False)["value"].sum(), b.groupby(keys, as_index=False)["value"].sum(),
                      on=keys, how="outer", suffixes=("_a", "_b"))
    merged[["value_a", "value_b"]] = merged[["value_a", "value_b"]].fillna(0.0)
    merged["delta"] = merged["value_b"] - merged["value_a"]
    merged["changed"] = [_changed(x, y) for x, y in zip(merged["value_a"], merged["value_b"])]
    return merged


def _tech_info(techs: pd.DataFrame) -> dict[str, dict]:
    return {str(r["tech"]): r for r in techs.to_dict("records")}


def _capacity_deltas(a: pd.DataFrame, b: pd.DataFrame, techs: pd.DataFrame,
                     units: dict[str, tuple[str, str]]) -> tuple[list[ValueDelta], int]:
    info = _tech_info(techs)
    keep = lambda frame: frame[~frame["tech"].map(lambda t: info.get(t, {}).get("base_tech", "")).isin(NOT_CAPACITY)]
    a, b = keep(a), keep(b)
    merged = _merge(a, b, ["node", "tech", "carrier", "variable"])
    # A storage capacity has no carrier of its own: its unit is that of the tech's carrier.
    carrier_of = {t: c for t, c in zip(pd.concat([a, b])["tech"], pd.concat([a, b])["carrier"]) if c}
    deltas = []
    for row in merged[merged["changed"]].itertuples():
        carrier = row.carrier or carrier_of.get(row.tech, "")
        rate, quantity = units.get(carrier, ("", ""))
        if row.variable == "flow_cap":
            group, unit = f"flow capacity ({carrier})" if carrier else "flow capacity", rate
        elif row.variable == "storage_cap":
            group, unit = "storage capacity", quantity
        else:
            group, unit = row.variable.replace("_", " "), ""
        deltas.append(_delta(group, row, info, unit))
    deltas.sort(key=lambda d: -abs(d.delta))
    return deltas, int((~merged["changed"]).sum())


def _cost_deltas(a: pd.DataFrame, b: pd.DataFrame, techs: pd.DataFrame
                 ) -> tuple[list[CostClassTotal], list[ValueDelta], int]:
    info = _tech_info(techs)
    merged = _merge(a, b, ["cost_class", "node", "tech"])
    totals = []
    classes = sorted(set(merged["cost_class"]), key=lambda c: (c != "monetary", c))
    for cost_class in classes:
        part = merged[merged["cost_class"] == cost_class]
        first, second = float(part["value_a"].sum()), float(part["value_b"].sum())
        totals.append(CostClassTotal(cost_class=cost_class, first=first, second=second, delta=second - first))
    deltas = [_delta(row.cost_class, row, info, "") for row in merged[merged["changed"]].itertuples()]
    deltas.sort(key=lambda d: (classes.index(d.group), -abs(d.delta)))
    return totals, deltas, int((~merged["changed"]).sum())


def _delta(group: str, row, info: dict[str, dict], unit: str) -> ValueDelta:
    name = str(info.get(row.tech, {}).get("name") or row.tech)
    return ValueDelta(group=group, tech=row.tech, tech_name=name, node=row.node, unit=unit,
                      first=float(row.value_a), second=float(row.value_b), delta=float(row.delta))
