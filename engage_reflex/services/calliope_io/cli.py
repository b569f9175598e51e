"""Helpers for the `engage import` and `engage export` commands."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from engage_reflex.models import EnergyModel, Scenario, User
from engage_reflex.schemas import ImportReport
from engage_reflex.services.calliope_io.exporter import export_scenario
from engage_reflex.services.calliope_io.importer import import_model_directory
from engage_reflex.services.errors import EngageError, NotFound


# --------------------------------------------------------------------------- CLI


def import_model_from_cli(*, path: Path, owner_email: str | None, is_public: bool,
                          name: str | None) -> ImportReport:
    """`engage import`: own transaction; the samples user owns the model unless told otherwise."""
    from engage_reflex.db import session_scope
    from engage_reflex.services import samples

    with session_scope() as session:
        if owner_email is None:
            owner_id = samples.ensure_samples_user(session=session)
        else:
            owner_id = _user_id_by_email(session, owner_email)
        return import_model_directory(session=session, path=Path(path), owner_id=owner_id,
                                      name=name, is_public=is_public)


def _user_id_by_email(session: Session, email: str) -> int:
    user_id = session.exec(select(User.id).where(User.email == email.strip().lower())).first()
    if user_id is None:
        user_id = session.exec(select(User.id).where(User.email == email.strip())).first()
    if user_id is None:
        raise EngageError(f"There is no user with email {email}.")
    return user_id


def export_scenario_from_cli(*, model: str, scenario: str, directory: Path,
                             solver: str) -> Path:
    """`engage export`: model and scenario by id or name; writes into an empty folder."""
    from engage_reflex.db import session_scope

    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise EngageError(f"{directory} is not an empty folder.")
    with session_scope() as session:
        model_row = _model_by_id_or_name(session, str(model))
        scenario_row = _scenario_by_id_or_name(session, model_row, str(scenario))
        exported = export_scenario(session=session, scenario_id=scenario_row.id, solver=solver)
    return exported.write_directory(directory)


def _model_by_id_or_name(session: Session, ref: str) -> EnergyModel:
    if ref.isdigit():
        found = session.get(EnergyModel, int(ref))
        if found is not None:
            return found
    matches = session.exec(select(EnergyModel).where(EnergyModel.name == ref)).all()
    if not matches:
        raise NotFound(f"There is no model “{ref}”.")
    if len(matches) > 1:
        ids = ", ".join(str(m.id) for m in matches)
        raise EngageError(f"Several models are called “{ref}” (ids {ids}); give the id.")
    return matches[0]


def _scenario_by_id_or_name(session: Session, model: EnergyModel, ref: str) -> Scenario:
    if ref.isdigit():
        found = session.get(Scenario, int(ref))
        if found is not None and found.model_id == model.id:
            return found
    found = session.exec(select(Scenario).where(
        Scenario.model_id == model.id, Scenario.name == ref)).first()
    if found is None:
        raise NotFound(f"Model “{model.name}” has no scenario “{ref}”.")
    return found
