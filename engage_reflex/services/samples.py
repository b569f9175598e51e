"""The public sample models: Calliope's own national- and urban-scale examples.

They belong to a samples user nobody can log in as, and are imported once: seeding again
skips any sample that user already has (by name).
"""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

from sqlmodel import Session, select

from engage_reflex.models import EnergyModel, User
from engage_reflex.schemas import ImportReport
from engage_reflex.services import calliope_io

SAMPLES_USER_EMAIL = "samples@engage.local"
SAMPLE_EXAMPLES = ("national_scale", "urban_scale")
# "!" is never produced by a password hasher, so no password can ever match it.
UNUSABLE_PASSWORD_PREFIX = "!"


def ensure_samples_user(*, session: Session) -> int:
    """The samples user's id, creating the user (with an unusable password) if missing."""
    user_id = session.exec(select(User.id).where(User.email == SAMPLES_USER_EMAIL)).first()
    if user_id is not None:
        return user_id
    user = User(
        email=SAMPLES_USER_EMAIL,
        display_name="Engage samples",
        password_hash=UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(24),
        is_active=False,
    )
    session.add(user)
    session.flush()
    return user.id


def sample_directories() -> list[Path]:
    """The example model folders shipped inside the installed calliope package."""
    spec = importlib.util.find_spec("calliope")
    if spec is None or spec.origin is None:
        raise RuntimeError("calliope is not installed")
    root = Path(spec.origin).parent / "example_models"
    return [root / name for name in SAMPLE_EXAMPLES]


def sample_name(directory: Path) -> str:
    """The name a sample gets: its own `config.init.name`."""
    import calliope

    raw = calliope.io.read_rich_yaml(directory / "model.yaml")
    return str(raw.get_key("config.init.name", directory.name))


def seed_samples(*, session: Session) -> list[ImportReport]:
    """Import the samples the samples user does not have yet; returns what was imported."""
    owner_id = ensure_samples_user(session=session)
    reports = []
    for directory in sample_directories():
        name = sample_name(directory)
        exists = session.exec(
            select(EnergyModel.id).where(EnergyModel.owner_id == owner_id, EnergyModel.name == name)
        ).first()
        if exists is not None:
            continue
        reports.append(calliope_io.import_model_directory(
            session=session, path=directory, owner_id=owner_id, name=name, is_public=True))
    return reports


def seed_from_cli() -> list[str]:
    """`engage seed`: one transaction; lines to print."""
    from engage_reflex.db import session_scope

    with session_scope() as session:
        reports = seed_samples(session=session)
    imported = {report.name: report for report in reports}
    lines = []
    for directory in sample_directories():
        name = sample_name(directory)
        report = imported.get(name)
        if report is None:
            lines.append(f"Skipped {name!r}: already present.")
            continue
        lines.append(
            f"Imported {name!r} (id {report.model_id}): {report.technologies} technologies, "
            f"{report.locations} locations, {report.scenarios} scenarios."
        )
        lines += [f"  note: {warning}" for warning in report.warnings]
    return lines
