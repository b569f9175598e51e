"""The public sample models and the `engage import / export / seed` commands."""

from __future__ import annotations

from sqlmodel import select

from engage_reflex.cli import main
from engage_reflex.db import session_scope
from engage_reflex.models import EnergyModel, Scenario, User
from engage_reflex.services import samples

SAMPLE_NAMES = ["National-scale example model", "Urban-scale example model"]


def test_seed_samples_is_idempotent(session):
    reports = samples.seed_samples(session=session)
    assert sorted(r.name for r in reports) == SAMPLE_NAMES

    owner = session.exec(select(User).where(User.email == samples.SAMPLES_USER_EMAIL)).one()
    assert owner.password_hash.startswith("!")  # no password can match it
    models = session.exec(select(EnergyModel).where(EnergyModel.owner_id == owner.id)).all()
    assert sorted(m.name for m in models) == SAMPLE_NAMES
    assert all(m.is_public for m in models)

    assert samples.seed_samples(session=session) == []
    assert samples.ensure_samples_user(session=session) == owner.id


def test_cli_seed_import_and_export(db_url, tmp_path, capsys, calliope_examples_dir):
    assert main(["seed"]) == 0
    out = capsys.readouterr().out
    assert "Imported 'National-scale example model'" in out and "Imported 'Urban-scale" in out
    assert main(["seed"]) == 0
    assert capsys.readouterr().out.count("already present") == 2

    urban = str(calliope_examples_dir / "urban_scale")
    assert main(["import", urban]) == 2  # the samples user already has this name
    assert "You already have a model called" in capsys.readouterr().err
    assert main(["import", urban, "--owner", "nobody@example.org"]) == 2
    assert "There is no user with email nobody@example.org" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "missing")]) == 2
    assert "There is no folder or file" in capsys.readouterr().err

    with session_scope(db_url) as session:
        session.add(User(email="planner@example.org", password_hash="!"))
    assert main(["import", urban, "--owner", "planner@example.org", "--name", "My urban"]) == 0
    out = capsys.readouterr().out
    assert "Imported model 'My urban'" in out and "16 nodes, 5 links, 8 timeseries, 3 scenarios" in out
    with session_scope(db_url) as session:
        mine = session.exec(select(EnergyModel).where(EnergyModel.name == "My urban")).one()
        assert not mine.is_public
        milp = session.exec(select(Scenario).where(
            Scenario.model_id == mine.id, Scenario.name == "milp")).one()

    target = tmp_path / "export"
    assert main(["export", "My urban", "milp", str(target), "--solver", "cbc"]) == 0
    assert f"Wrote {target / 'model.yaml'}" in capsys.readouterr().out
    assert (target / "additional_math.yaml").is_file()
    assert len(list((target / "data_tables").glob("*.csv"))) == 3
    assert "backend: pyomo" in (target / "model.yaml").read_text()

    assert main(["export", str(mine.id), str(milp.id), str(target)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert main(["export", "No such model", "base", str(tmp_path / "other")]) == 2
    assert "There is no model “No such model”" in capsys.readouterr().err
    assert main(["export", "My urban", "nope", str(tmp_path / "other")]) == 2
    assert "has no scenario “nope”" in capsys.readouterr().err
