"""The newer results figures' data: storage level, links, capacity factors, levelised costs, map.

Read from the tables jobs/result_tables.py writes at solve time (see schemas.results.RESULT_TABLES);
a run solved before a table existed gets None for it, never an error.
"""

from __future__ import annotations

from sqlmodel import Session, select

from engage_reflex.models import Carrier, Run
from engage_reflex.schemas.results import ResultDetailsView, StorageView
from engage_reflex.services import runs
from engage_reflex.services.results import read_table, slice_period, succeeded_run, table_path, thin_out

# Listed first in the cost class choice: what the objective usually minimises.
_MAIN_COST_CLASS = "monetary"


def _run(session: Session, user_id: int, run_id: int) -> Run:
    view = runs.get_run(session=session, user_id=user_id, run_id=run_id)
    return succeeded_run(session, run_id, view.status)


def _optional(run: Run, kind: str):
    path = table_path(run, kind)
    return None if path is None else read_table(path, kind)


def load_details(*, session: Session, user_id: int, run_id: int) -> ResultDetailsView:
    run = _run(session, user_id, run_id)
    costs_path = table_path(run, "costs")
    classes = sorted(set(read_table(costs_path, "costs")["cost_class"])) if costs_path else []
    classes.sort(key=lambda c: c != _MAIN_COST_CLASS)
    first_day, last_day = _span(run)
    return ResultDetailsView(
        links=_optional(run, "links"),
        capacity_factors=_optional(run, "capacity_factors"),
        levelised_costs=_optional(run, "levelised_costs"),
        nodes=_optional(run, "nodes"),
        has_storage=table_path(run, "storage") is not None,
        cost_classes=classes,
        first_day=first_day,
        last_day=last_day,
    )


def _span(run: Run) -> tuple[str, str]:
    """First and last day the run's flows cover ("" when it has none)."""
    path = table_path(run, "flows")
    if path is None:
        return "", ""
    steps = read_table(path, "flows")["timestep"]
    if steps.empty:
        return "", ""
    return str(steps.min())[:10], str(steps.max())[:10]


def load_storage(*, session: Session, user_id: int, run_id: int, node: str = "", tech: str = "",
                 start: str = "", end: str = "") -> StorageView:
    """Storage level per timestep and tech at `node` (or summed over all), in the period."""
    run = _run(session, user_id, run_id)
    unit = _quantity_unit(session, run.model_id)
    levels = _optional(run, "storage")
    if levels is None:
        return StorageView(levels=None, unit=unit, note="")
    levels = slice_period(levels, start, end)
    if node:
        levels = levels[levels["node"] == node]
    if tech:
        levels = levels[levels["tech"] == tech]
    summed = levels.groupby(["timestep", "tech"], as_index=False)["value"].sum()
    summed, note = thin_out(summed)
    return StorageView(levels=summed, unit=unit, note=note)


def _quantity_unit(session: Session, model_id: int) -> str:
    """The energy unit storage is counted in: the model's carriers' one when they agree."""
    units = set(session.exec(select(Carrier.quantity_unit).where(Carrier.model_id == model_id)).all())
    return units.pop() if len(units) == 1 else "kWh"


