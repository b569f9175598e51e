"""Model zips: a corpus of hostile or broken zips, each refused in words with nothing stored (no
model, no file left), and the round trip national_scale zip -> model -> zip -> Calliope."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import EnergyModel, Scenario, Upload
from engage_reflex.services import archives, uploads
from engage_reflex.services.calliope_io import export_scenario
from engage_reflex.services.errors import EngageError
from jobs import archives as archive_jobs
from tests.calliope_inputs import assert_same_inputs, read_yaml
from tests.jobs.conftest import make_user

MODEL_YAML = """\
config:
  init:
    name: Tiny
    time_subset: null
  build: {mode: plan}
techs: {}
nodes: {}
"""
TWO_DAYS = {"config.init.subset.timesteps": ["2005-01-01", "2005-01-02"]}


def _zip(*members, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of (name or ZipInfo, bytes or str) members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buffer.getvalue()


def _patch_headers(data: bytes, name: bytes, *, flag_or: int = 0, size: int | None = None) -> bytes:
    """Set flag bits or the declared unpacked size of member `name` in its local and central headers."""
    out = bytearray(data)
    for signature, flag_at, size_at, name_len_at, name_at in ((b"PK\x03\x04", 6, 22, 26, 30),
                                                               (b"PK\x01\x02", 8, 24, 28, 46)):
        start = 0
        while (at := out.find(signature, start)) >= 0:
            start = at + 4
            length = struct.unpack_from("<H", out, at + name_len_at)[0]
            if bytes(out[at + name_at: at + name_at + length]) != name:
                continue
            struct.pack_into("<H", out, at + flag_at, struct.unpack_from("<H", out, at + flag_at)[0] | flag_or)
            if size is not None:
                struct.pack_into("<I", out, at + size_at, size)
    return bytes(out)


def _symlink_zip() -> bytes:
    link = zipfile.ZipInfo("tiny/data_tables/costs.csv")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    return _zip(("tiny/model.yaml", MODEL_YAML), (link, "/etc/passwd"))


def _zeros_member(name: str, size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("model.yaml", MODEL_YAML)
        with zf.open(name, "w", force_zip64=True) as out:
            block = bytes(1 << 20)
            for _ in range(size // len(block)):
                out.write(block)
    return buffer.getvalue()


def _lying_bomb() -> bytes:
    honest = _zip(("model.yaml", MODEL_YAML), ("big.csv", bytes(5 * 1024 * 1024)))
    return _patch_headers(honest, b"big.csv", size=1000)


def _bad_utf8_name() -> bytes:
    data = _zip(("model.yaml", MODEL_YAML), ("xx.csv", "a,b\n"))
    return _patch_headers(data.replace(b"xx.csv", b"\xff\xfe.csv"), b"\xff\xfe.csv", flag_or=0x800)


def _billion_laughs() -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    return MODEL_YAML + "\n".join(lines) + "\n"


ABSOLUTE_TABLE = MODEL_YAML + """\
data_tables:
  costs:
    table: /etc/passwd
    rows: techs
"""
CORPUS = {
    # name: (zip bytes, words the planner reads, refused before unpacking?)
    "traversal": (lambda: _zip(("model.yaml", MODEL_YAML), ("../x.csv", "a")), "climbs out of its folder", True),
    "absolute": (lambda: _zip(("model.yaml", MODEL_YAML), ("/etc/x", "a")), "is an absolute path", True),
    "drive letter": (lambda: _zip(("model.yaml", MODEL_YAML), ("C:/x.csv", "a")), "is an absolute path", True),
    "backslash": (lambda: _zip(("model.yaml", MODEL_YAML), ("data\\x.csv", "a")), "holds a backslash", True),
    "symlink member": (_symlink_zip, "“tiny/data_tables/costs.csv” in the zip is a symbolic link", True),
    "duplicate names": (lambda: _zip(("model.yaml", MODEL_YAML), ("a.csv", "1"), ("a.csv", "2")),
                        "holds “a.csv” twice", True),
    "names differing by case": (lambda: _zip(("model.yaml", MODEL_YAML), ("Data.csv", "1"), ("data.csv", "2")),
                                "holds both “Data.csv” and “data.csv”", True),
    "file and folder": (lambda: _zip(("model.yaml", MODEL_YAML), ("x", "1"), ("x/y.csv", "2")),
                        "“x” in the zip is both a file and a folder", True),
    "too many members": (lambda: _zip(("model.yaml", MODEL_YAML), *[(f"t/{i}.csv", "") for i in range(2001)]),
                         "holds 2,002 files and folders", True),
    "bomb": (lambda: _zeros_member("data_tables/huge.csv", 210 * 1024 * 1024),
             "“data_tables/huge.csv” in the zip unpacks to more than 100 MB", True),
    "compression ratio": (lambda: _zeros_member("data_tables/z.csv", 50 * 1024 * 1024),
                          "“data_tables/z.csv” in the zip is compressed more than 200 times", True),
    "bomb lying about its size": (_lying_bomb, "“big.csv” in the zip is damaged (its checksum does not match", True),
    "not a zip": (lambda: b"model.yaml: this is not a zip\n" * 10, "not a zip archive", True),
    "cut off zip": (lambda: _zip(("model.yaml", MODEL_YAML), ("a.csv", "1" * 5000))[:300], "not a zip", True),
    "encrypted member": (lambda: _patch_headers(_zip(("model.yaml", MODEL_YAML)), b"model.yaml", flag_or=0x1),
                         "“model.yaml” in the zip is protected by a password", True),
    "name not UTF-8": (_bad_utf8_name, "marked as UTF-8 but is not valid UTF-8", True),
    "control character": (lambda: _zip(("model.yaml", MODEL_YAML), ("a\x07.csv", "1")), "control characters", True),
    "too deep": (lambda: _zip(("model.yaml", MODEL_YAML), ("/".join("d" * 25) + "/x.csv", "1")),
                 "nested 26 folders deep", True),
    "no model.yaml": (lambda: _zip(("tiny/techs.yaml", "techs: {}")), "holds no model.yaml", True),
    "two model.yaml folders": (lambda: _zip(("a/model.yaml", MODEL_YAML), ("b/model.yaml", MODEL_YAML)),
                               "several models (“a/model.yaml”, “b/model.yaml”)", True),
    "import outside": (lambda: _zip(("tiny/model.yaml", "import: [../outside.yaml]\n" + MODEL_YAML),
                                    ("outside.yaml", "techs: {}\n")),
                       "model.yaml: `import` names ../outside.yaml, which is outside the model folder", False),
    "absolute data table": (lambda: _zip(("model.yaml", ABSOLUTE_TABLE)),
                            "model.yaml: `data_tables.costs.table` names /etc/passwd, which is outside", False),
    "billion laughs": (lambda: _zip(("model.yaml", _billion_laughs())),
                       "once its aliases (`*name`) are expanded", False),
}


def _stored_zip(data: bytes) -> tuple[Path, int]:
    path = uploads.incoming_path()
    path.write_bytes(data)
    return path, len(data)


@pytest.mark.parametrize("case", list(CORPUS))
def test_a_bad_zip_is_refused_in_words_and_leaves_nothing(case, db_url, redis_url, session, tmp_path):
    build, words, before_unpacking = CORPUS[case]
    data = build()
    user = make_user(session, "planner@example.org")
    archive = tmp_path / "bad.zip"
    archive.write_bytes(data)
    into = tmp_path / "unpacked"
    into.mkdir()
    if before_unpacking:
        with pytest.raises(EngageError) as refused:
            archives.unpack_model_archive(archive=archive, into=into)
        assert words in refused.value.message
        assert list(into.iterdir()) == [], "a refused zip leaves nothing in the extraction folder"
    else:
        archives.unpack_model_archive(archive=archive, into=into)  # the zip is fine; its YAML is not

    path, size = _stored_zip(data)
    with session_scope(db_url) as s:
        view = uploads.start_model_archive_upload(session=s, user_id=user.id, filename="bad.zip", incoming=path,
                                                  size_bytes=size)
    assert archive_jobs.import_model_archive(view.id) == "refused"
    with session_scope(db_url) as s:
        row = s.get(Upload, view.id)
        assert getattr(row.status, "value", row.status) == "failed" and row.model_id is None
        assert row.message.startswith("bad.zip: ") and words in row.message, row.message
        assert s.exec(select(EnergyModel)).all() == []
    assert not (uploads.uploads_dir() / str(view.id)).exists(), "the zip and whatever was unpacked are removed"


def test_a_zip_that_is_not_a_zip_by_name_or_size_is_refused_at_once(db_url, session):
    user = make_user(session, "planner@example.org")
    for filename, size, words in (("model.yaml", 10, "is not a zip file"), ("m.zip", 0, "is empty"),
                                  ("m.zip", archives.MAX_UPLOAD_BYTES + 1, "the limit is 100 MB")):
        path, _ = _stored_zip(b"x")
        with session_scope(db_url) as s, pytest.raises(EngageError, match=words):
            uploads.start_model_archive_upload(session=s, user_id=user.id, filename=filename, incoming=path,
                                               size_bytes=size)
        assert not path.exists()
    with session_scope(db_url) as s:
        assert s.exec(select(Upload)).all() == []


def _zip_folder(folder: Path, target: Path, top: str) -> Path:
    return archives.zip_folder(folder=folder, target=target, top=top)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_national_scale_zip_round_trips_to_the_same_calliope_inputs(db_url, redis_url, session, tmp_path,
                                                                    calliope_examples_dir):
    user = make_user(session, "planner@example.org")
    original = calliope_examples_dir / "national_scale"
    zipped = _zip_folder(original, tmp_path / "national.zip", "national_scale")
    path, size = _stored_zip(zipped.read_bytes())
    with session_scope(db_url) as s:
        view = uploads.start_model_archive_upload(session=s, user_id=user.id, filename="national.zip",
                                                  incoming=path, size_bytes=size)
    assert archive_jobs.import_model_archive(view.id) == "imported"
    with session_scope(db_url) as s:
        view = uploads.archive_upload_view(session=s, user_id=user.id, upload_id=view.id)
        scenario = s.exec(select(Scenario).where(Scenario.model_id == view.model_id, Scenario.name == "base")).one()
        definition = export_scenario(session=s, scenario_id=scenario.id, user_id=user.id)
    assert view.status == "succeeded" and view.model_id and view.model_name, view.message
    assert not (uploads.uploads_dir() / str(view.id)).exists()

    exported = tmp_path / "exported"
    definition.write_directory(exported)
    zipped_again = _zip_folder(exported, tmp_path / "again.zip", "national-scale-base")
    root = archives.unpack_model_archive(archive=zipped_again, into=tmp_path / "again")
    assert root.name == "national-scale-base"
    assert_same_inputs(read_yaml(original / "model.yaml", override_dict=TWO_DAYS),
                       read_yaml(root / "model.yaml", override_dict=TWO_DAYS))


def test_macos_leftovers_are_skipped_and_a_top_folder_is_found(tmp_path):
    archive = tmp_path / "m.zip"
    archive.write_bytes(_zip(("tiny/model.yaml", MODEL_YAML), ("__MACOSX/tiny/._model.yaml", "junk"),
                             ("tiny/.DS_Store", "junk"), ("tiny/data_tables/a.csv", "x,y\n")))
    root = archives.unpack_model_archive(archive=archive, into=tmp_path / "out")
    assert root == tmp_path / "out" / "tiny"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "data_tables", "data_tables/a.csv", "model.yaml"]
    assert not (tmp_path / "out" / "__MACOSX").exists()


def test_members_that_add_up_past_the_total_cap_are_refused_naming_the_last(tmp_path, monkeypatch):
    archive = tmp_path / "m.zip"
    archive.write_bytes(_zip(("model.yaml", MODEL_YAML), ("a.csv", "1," * 400_000), ("b.csv", "2," * 400_000)))
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 1_000_000)
    with pytest.raises(EngageError, match="unpack to more than .* .at “b.csv”"):
        archives.unpack_model_archive(archive=archive, into=tmp_path / "out")
    assert not (tmp_path / "out").exists(), "a folder made for the unpacking goes when it is refused"
