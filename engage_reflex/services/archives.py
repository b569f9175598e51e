"""Zipped Calliope model folders: unpacked without trusting them, and scenario exports as zips.

`unpack_model_archive` checks every member's name, type and size before anything is written,
then streams the members to disk counting the bytes actually written (a zip's declared sizes
can lie), so a zip bomb stops at the cap. Whatever it refuses, `into` is left empty. The YAML
inside is judged later by the importer (calliope_io/confine.py): paths outside the folder,
symbolic links, alias bombs.

Exports: a `short` job (jobs/archives.py) puts `exports/<export id>.zip` and a small
`exports/<export id>.json` naming who asked for it into the run files store (services/storage.py;
by default data_dir/exports), so the app serves it whichever machine made it. The browser
fetches the zip through a signed link (api.py) that expires after LINK_SECONDS. Exports older
than EXPORT_KEEP_SECONDS are swept
away whenever an export is started or downloaded (not at once after the download: browsers may
fetch a download twice, e.g. when Chrome hands a navigation over to its download manager).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import stat
import time
import unicodedata
import uuid
import zipfile
import zlib
from pathlib import Path
from urllib.parse import urlencode

from sqlmodel import Session

from engage_reflex.models import Scenario
from engage_reflex.schemas.archives import ExportView
from engage_reflex.services import storage
from engage_reflex.services.access import require_view
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.settings import get_settings

MB = 1024 * 1024
MAX_UPLOAD_BYTES = 100 * MB  # the zip as sent by the browser
MAX_MEMBERS = 2_000
MAX_TOTAL_BYTES = 200 * MB  # all members, unpacked
MAX_MEMBER_BYTES = 100 * MB  # one member, unpacked
MAX_RATIO = 200  # unpacked / packed, for members over RATIO_FROM_BYTES (CSV and YAML reach ~10:1)
RATIO_FROM_BYTES = 1 * MB
MAX_DEPTH = 20  # folders inside folders
MODEL_FILE = "model.yaml"
_CHUNK = 256 * 1024
# Left by macOS's "Compress" and Windows Explorer: not part of the model, never unpacked.
_JUNK_TOP = "__MACOSX"
_JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_ENCRYPTED = 0x1
_UTF8_NAME = 0x800
_ASK_AGAIN = "Zip the model's folder again (e.g. with your file manager's “Compress”) and upload that."


class _Refused(EngageError):
    pass


def unpack_model_archive(*, archive: Path, into: Path, progress=None) -> Path:
    """Unpack a zipped model folder into `into` (empty or missing); returns the folder holding
    model.yaml (`into` itself, or the archive's single top-level folder). EngageError naming the
    member if anything is wrong; nothing is left in `into` then. `progress(fraction)` is optional."""
    into = Path(into)
    created = not into.exists()
    into.mkdir(parents=True, exist_ok=True)
    if any(into.iterdir()):
        raise ValueError(f"{into} must be empty")
    try:
        with _open_zip(archive) as zf:
            members = _checked_members(zf)
            root = _model_root(members)
            _extract(zf, members, into, progress)
    except BaseException:
        _empty(into, remove=created)
        raise
    return into / root if root else into


def _open_zip(archive: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except UnicodeDecodeError:
        raise _Refused("A file name in the zip is marked as UTF-8 but is not valid UTF-8 text. " + _ASK_AGAIN) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError):
        raise _Refused("This file is not a zip archive, or it is damaged (cut off while uploading?). "
                       + _ASK_AGAIN) from None


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as UTF-8 text; names without the zip's UTF-8 flag were decoded as
    cp437 by zipfile, but most tools write UTF-8 there anyway."""
    name = info.orig_filename
    if not info.flag_bits & _UTF8_NAME and not name.isascii():
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            raise _Refused(f"The file name “{name[:80]}” in the zip is not UTF-8 text. Rename it with plain "
                           f"letters and digits, then zip the folder again.") from None
    return name


def _check_name(name: str) -> tuple[str, ...]:
    shown = name[:120].encode("unicode_escape").decode("ascii") if not name.isprintable() else name[:120]
    if not name.strip("/"):
        raise _Refused("The zip holds a member without a name. " + _ASK_AGAIN)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise _Refused(f"The file name “{shown}” in the zip holds control characters; rename it.")
    if "\\" in name:
        raise _Refused(f"The file name “{shown}” in the zip holds a backslash (\\); zips use / between "
                       f"folders. " + _ASK_AGAIN)
    if name.startswith("/") or _DRIVE.match(name):
        raise _Refused(f"“{shown}” in the zip is an absolute path (it would be written outside the model's "
                       f"folder). " + _ASK_AGAIN)
    parts = tuple(name.rstrip("/").split("/"))
    if ".." in parts:
        raise _Refused(f"“{shown}” in the zip climbs out of its folder with “..”; such a zip could overwrite "
                       f"files elsewhere. " + _ASK_AGAIN)
    if any(p in ("", ".") for p in parts):
        raise _Refused(f"“{shown}” in the zip has an empty folder name (// or /./). " + _ASK_AGAIN)
    if len(parts) > MAX_DEPTH:
        raise _Refused(f"“{shown[:80]}…” in the zip is nested {len(parts)} folders deep; at most {MAX_DEPTH} "
                       f"are accepted.")
    return parts


def _check_type(info: zipfile.ZipInfo, name: str) -> None:
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise _Refused(f"“{name}” in the zip is a symbolic link; Engage only unpacks plain files and folders. "
                       f"Replace the link with a copy of the file it points to.")
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        raise _Refused(f"“{name}” in the zip is not a plain file or folder (a device or pipe?); remove it.")
    if info.flag_bits & _ENCRYPTED:
        raise _Refused(f"“{name}” in the zip is protected by a password; Engage cannot read encrypted zips. "
                       f"Zip the folder again without a password.")


def _check_size(info: zipfile.ZipInfo, name: str, size: int, packed: int) -> None:
    if size > MAX_MEMBER_BYTES:
        raise _Refused(f"“{name}” in the zip unpacks to more than {MAX_MEMBER_BYTES // MB} MB; one file of a "
                       f"model can be at most that large.")
    if size > RATIO_FROM_BYTES and size > MAX_RATIO * max(packed, 1):
        raise _Refused(f"“{name}” in the zip is compressed more than {MAX_RATIO} times (it would unpack from "
                       f"{packed:,} bytes to over {size // MB} MB), which model files never are: the zip looks "
                       f"like a “zip bomb” and was not unpacked.")


def _checked_members(zf: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Every member checked, before anything is written: [(info, path parts)] of what to unpack."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _Refused(f"The zip holds {len(infos):,} files and folders; a model zip can hold at most "
                       f"{MAX_MEMBERS:,}. Zip only the model's folder.")
    members, seen, folders, total = [], {}, set(), 0
    for info in infos:
        name = _member_name(info)
        parts = _check_name(name)
        _check_type(info, name)
        if parts[0] == _JUNK_TOP or parts[-1].lower() in _JUNK_NAMES:
            continue
        key = "/".join(parts).casefold()
        if key in seen and seen[key] == name:
            raise _Refused(f"The zip holds “{name}” twice. Remove one and zip the folder again.")
        if key in seen:
            raise _Refused(f"The zip holds both “{seen[key]}” and “{name}”, names that differ only in capitals; "
                           f"a folder on Windows or macOS cannot hold both. Rename one and zip the folder again.")
        seen[key] = name
        folders.update("/".join(parts[:i]).casefold() for i in range(1, len(parts)))
        if info.is_dir():
            continue
        _check_size(info, name, info.file_size, info.compress_size)
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise _Refused(f"The files in the zip unpack to more than {MAX_TOTAL_BYTES // MB} MB (at “{name}”); "
                           f"a model can be at most that large.")
        members.append((info, parts))
    for info, parts in members:
        if "/".join(parts).casefold() in folders:
            raise _Refused(f"“{'/'.join(parts)}” in the zip is both a file and a folder; rename one of them.")
    return members


def _model_root(members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]]) -> str:
    """"" when model.yaml is at the top of the zip, else the name of its single top-level folder."""
    paths = ["/".join(p) for _, p in members]
    if MODEL_FILE in paths:
        return ""
    tops = sorted({p.split("/")[0] + "/" + MODEL_FILE for p in paths} & set(paths))
    if len(tops) == 1:
        return tops[0].split("/")[0]
    if len(tops) > 1:
        listed = ", ".join(f"“{t}”" for t in tops[:5])
        raise _Refused(f"The zip holds several models ({listed}). Upload one model per zip.")
    deeper = sorted(p for p in paths if p.rsplit("/", 1)[-1] == MODEL_FILE)
    if deeper:
        raise _Refused(f"The zip's {MODEL_FILE} is at “{deeper[0]}”, too deep inside. Zip the folder that "
                       f"holds {MODEL_FILE} itself.")
    raise _Refused(f"The zip holds no {MODEL_FILE}. Engage reads Calliope 0.7 models: zip the folder that "
                   f"holds {MODEL_FILE} (the file you give to `calliope run`).")


def _extract(zf: zipfile.ZipFile, members, into: Path, progress) -> None:
    total, declared = 0, sum(i.file_size for i, _ in members) or 1
    for info, parts in members:
        name = "/".join(parts)
        target = into.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        try:
            with zf.open(info) as source, open(target, "xb") as out:
                while chunk := source.read(_CHUNK):
                    written += len(chunk)
                    total += len(chunk)
                    _check_size(info, name, written, info.compress_size)
                    if total > MAX_TOTAL_BYTES:
                        raise _Refused(f"The files in the zip unpack to more than {MAX_TOTAL_BYTES // MB} MB "
                                       f"(at “{name}”); a model can be at most that large.")
                    out.write(chunk)
        except EngageError:
            raise
        except RuntimeError:  # zipfile: "File is encrypted"
            raise _Refused(f"“{name}” in the zip is protected by a password; Engage cannot read encrypted "
                           f"zips.") from None
        except NotImplementedError:
            raise _Refused(f"“{name}” in the zip is compressed with a method Engage cannot read; zip the folder "
                           f"again with the usual “deflate” compression.") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            raise _Refused(f"“{name}” in the zip is damaged ({_reason(exc)}). " + _ASK_AGAIN) from None
        except OSError as exc:
            raise EngageError(f"Engage could not write “{name}” from the zip: {exc.strerror or exc}.") from None
        if progress is not None:
            progress(min(1.0, total / declared))


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "CRC" in text:
        return "its checksum does not match: the zip is damaged or lies about the file's size"
    return text[:120] or type(exc).__name__


def _empty(folder: Path, *, remove: bool) -> None:
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def zip_folder(*, folder: Path, target: Path, top: str) -> Path:
    """Zip the files under `folder` as `top/<relative path>` into `target` (written whole or not at all)."""
    partial = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                zf.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


# --------------------------------------------------------------------------- exports

LINK_SECONDS = 300
EXPORT_KEEP_SECONDS = 3600
EXPORT_ROUTE = "/api/exports"
_EXPORT_ID = re.compile(r"[0-9a-f]{32}")
_DIGITS = re.compile(r"[0-9]{1,15}")
_HEX_SIG = re.compile(r"[0-9a-f]{64}")
_NOT_VALID = "This download link is not valid. Please use the download button again."
_GONE = "This export is no longer here (exports are kept for an hour). Please export it again."


EXPORTS_PREFIX = "exports"  # in the run files store


def export_keys(export_id: str) -> tuple[str, str]:
    """The run files store's keys of (the zip, its JSON note of who asked for which scenario)."""
    if not _EXPORT_ID.fullmatch(export_id or ""):
        raise NotFound(_GONE)
    return f"{EXPORTS_PREFIX}/{export_id}.zip", f"{EXPORTS_PREFIX}/{export_id}.json"


def export_filename(model_name: str, scenario_name: str) -> str:
    slug = "-".join(filter(None, (re.sub(r"[^A-Za-z0-9]+", "-", n).strip("-").lower()
                                  for n in (model_name, scenario_name))))
    return f"{slug or 'model'}.zip"


def start_scenario_export(*, session: Session, user_id: int | None, scenario_id: int) -> ExportView:
    """Queue the export of a scenario as a zip (anyone who may view the model may export it)."""
    from engage_reflex.services import queue as jobqueue

    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound("This scenario no longer exists; reload the page.")
    model = require_view(session=session, user_id=user_id, model_id=scenario.model_id)
    sweep_exports()
    export_id = uuid.uuid4().hex
    filename = export_filename(model.name, scenario.name)
    try:
        jobqueue.queue("short").enqueue(
            "jobs.archives.export_scenario_zip", export_id, scenario_id, user_id, job_id=export_job_id(export_id),
            job_timeout=jobqueue.job_timeout("short"), result_ttl=EXPORT_KEEP_SECONDS,
            failure_ttl=EXPORT_KEEP_SECONDS, meta={"user_id": user_id, "filename": filename},
            description=f"export scenario {scenario_id} as zip")
    except Exception:  # Redis down: say so, not a traceback
        raise EngageError("The job queue does not answer, so the export was not started. "
                          "Please try again in a minute.") from None
    return ExportView(export_id=export_id, status="queued", message="Waiting for a worker to export the scenario",
                      progress=0.0, filename=filename)


def export_job_id(export_id: str) -> str:
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", get_settings().queue_prefix)
    return f"{prefix}export-{export_id}"


def export_view(*, session: Session, user_id: int | None, export_id: str) -> ExportView:
    """How far an export of this user is; NotFound for someone else's."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from engage_reflex.services import queue as jobqueue

    zip_key, _ = export_keys(export_id)
    try:
        job = Job.fetch(export_job_id(export_id), connection=jobqueue.redis_connection())
    except NoSuchJobError:
        raise NotFound(_GONE) from None
    meta = job.get_meta(refresh=False)
    if meta.get("user_id") != user_id:
        raise NotFound(_GONE)
    status = getattr(job.get_status(refresh=False), "value", "")
    filename = str(meta.get("filename") or "model.zip")
    if meta.get("error"):
        return ExportView(export_id, "failed", str(meta["error"]), 0.0, filename)
    if status == "finished" and storage.get_store().exists(zip_key):
        return ExportView(export_id, "succeeded", f"{filename} is ready.", 1.0, filename)
    if status in jobqueue.DEAD_JOB_STATUSES or status == "finished":
        return ExportView(export_id, "failed", "The export stopped before it was done (the worker may have been "
                          "restarted). Please export again.", 0.0, filename)
    progress = float(meta.get("progress") or 0.0)
    message = "Exporting the scenario" if status == "started" else "Waiting for a worker to export the scenario"
    return ExportView(export_id, "processing" if status == "started" else "queued", message, progress, filename)


def export_file(*, session: Session, user_id: int | None, export_id: str) -> tuple[str, str]:
    """(the zip's key in the run files store, its download name), after checking again that this
    user may view the model."""
    zip_key, note_key = export_keys(export_id)
    store = storage.get_store()
    try:
        note = json.loads(store.read_bytes(note_key).decode("utf-8"))
    except (FileNotFoundError, ValueError):
        raise NotFound(_GONE) from None
    if note.get("user_id") != user_id or not store.exists(zip_key):
        raise NotFound(_GONE)
    require_view(session=session, user_id=user_id, model_id=int(note["model_id"]))
    return zip_key, str(note.get("filename") or "model.zip")


def remove_export(export_id: str) -> None:
    store = storage.get_store()
    for key in export_keys(export_id):
        store.delete(key)


def sweep_exports(now: float | None = None) -> int:
    """Delete exports (zips and notes) older than EXPORT_KEEP_SECONDS; returns how many files."""
    limit, removed = (now if now is not None else time.time()) - EXPORT_KEEP_SECONDS, 0
    store = storage.get_store()
    for key, modified in store.list_modified(EXPORTS_PREFIX):
        if modified < limit:
            store.delete(key)
            removed += 1
    return removed


def _signature(export_id: str, user_id: int, expires: int) -> str:
    from engage_reflex.services.downloads import signing_key  # the same key and secret check as run downloads

    message = f"engage-export:{export_id}:{user_id}:{expires}".encode()
    return hmac.new(signing_key(), message, hashlib.sha256).hexdigest()


def export_link(*, export_id: str, user_id: int, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + LINK_SECONDS)
    query = urlencode({"user": user_id, "expires": expires, "sig": _signature(export_id, user_id, expires)})
    return f"{EXPORT_ROUTE}/{export_id}?{query}"


def check_export_link(*, export_id: str, user: str, expires: str, sig: str, now: float | None = None) -> int:
    """The user id the link was made for; EngageError if it was altered or has expired."""
    user, expires, sig = user or "", expires or "", sig or ""
    if not (_EXPORT_ID.fullmatch(export_id or "") and _DIGITS.fullmatch(user) and _DIGITS.fullmatch(expires)
            and _HEX_SIG.fullmatch(sig)):
        raise EngageError(_NOT_VALID)
    user_id, expires_at = int(user), int(expires)
    if not hmac.compare_digest(_signature(export_id, user_id, expires_at).encode(), sig.encode()):
        raise EngageError(_NOT_VALID)
    now = now if now is not None else time.time()
    if expires_at < now:
        raise EngageError("This download link has expired. Please use the download button again.")
    if expires_at > now + LINK_SECONDS + 60:
        raise EngageError(_NOT_VALID)
    return user_id


def write_export_note(*, export_id: str, user_id: int | None, model_id: int, scenario_id: int,
                      filename: str) -> None:
    _, note_key = export_keys(export_id)
    storage.get_store().write_bytes(note_key, json.dumps({
        "user_id": user_id, "model_id": model_id, "scenario_id": scenario_id, "filename": filename}).encode())


def export_download_link(*, session: Session, user_id: int | None, export_id: str) -> tuple[str, str]:
    """(a signed link to a finished export of this user, the name to save it under)."""
    view = export_view(session=session, user_id=user_id, export_id=export_id)
    if view.status != "succeeded" or user_id is None:
        raise EngageError(view.message if view.status == "failed" else "The export is not ready yet.")
    return export_link(export_id=export_id, user_id=user_id), view.filename
