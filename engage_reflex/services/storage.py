"""Run files (results, logs, a run's inputs) behind one storage URL, so a worker on another machine
needs no shared disk: a local folder or any S3-compatible store (AWS S3, MinIO, moto in the tests).

`get_store()` builds the store from Settings (ENGAGE_ARTIFACTS_URL, ENGAGE_ARTIFACTS_ENDPOINT_URL)
the first time it is used in a process; nothing connects at import. Keys are "/"-separated paths
under the store's root ("runs/12/results/model.nc"); a key with ".." or a leading "/" is refused.

A local store (the default: data_dir itself, so a run's `artefact_dir` "runs/12" keeps resolving)
works in place: uploading a folder that already is the key's folder copies nothing, and `fetch`
returns the file itself. An S3 store's `fetch` keeps a bounded cache of downloads under
data_dir/cache/store for readers that need a real file (NetCDF, CSV tables read by pandas).

Errors of the store itself (no connection, access denied) reach callers as `StoreUnreachable`,
an EngageError with a planner's sentence; a missing key is FileNotFoundError.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from engage_reflex.services.errors import EngageError
from engage_reflex.settings import get_settings

LOGGER = logging.getLogger(__name__)
# Downloads kept for readers that need a real file; the oldest go first beyond this size.
CACHE_MAX_BYTES = 2 * 1024**3
CACHE_FOLDER = ("cache", "store")
STREAM_CHUNK_BYTES = 1024 * 1024
_UNREACHABLE = ("The run files store is not reachable ({reason}). Try again in a minute; if it keeps "
                "failing, tell the administrator (the store is set by ENGAGE_ARTIFACTS_URL).")


class StoreUnreachable(EngageError):
    """The store answered with an error or not at all (not: a file is missing)."""


def confine_key(key: str) -> str:
    """The key in its plain form ("runs/12/model.nc"); EngageError if it would leave the store."""
    text = str(key).replace("\\", "/")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if text.startswith("/") or ":" in (parts[0] if parts else "") or ".." in parts or not parts:
        raise EngageError(f"The file name “{key}” points outside the run files store; only names "
                          "inside it (like runs/12/model.nc) are allowed.")
    return "/".join(parts)


def join_key(*parts: str) -> str:
    return confine_key("/".join(str(p) for p in parts))


def run_prefix(run_id: int) -> str:
    """Where a run's files live in the store (and, on a local store, its folder under data_dir)."""
    return f"runs/{int(run_id)}"


def stored_file(prefix: str | None, name: str) -> Path | None:
    """A local file with the bytes of `name` under the key prefix `prefix` (see RunFileStore.fetch),
    None when the store has no such file or the name would leave the prefix."""
    if not prefix:
        return None
    try:
        key = join_key(prefix, name)
        if not key.startswith(confine_key(prefix) + "/"):
            return None
    except EngageError:  # "../x" or a prefix that is not a key: no file of this run's
        return None
    try:
        return get_store().fetch(key)
    except FileNotFoundError:
        return None


def run_work_dir(run_id: int) -> Path:
    """The local folder a worker writes a run's files in while it works (and where the live log
    is read on that machine): a local store's own run folder (so its files are stored in place),
    else data_dir/runs/<id> on the worker's disk, uploaded when the job ends."""
    store = get_store()
    if store.is_local:
        return store.local_path(run_prefix(run_id))
    return get_settings().runs_dir / str(int(run_id))


def machine_scratch() -> Path:
    """This machine's own working folder, never part of the store; named after the host, so that
    even a data_dir shared between machines never hands one machine's scratch files to another."""
    return get_settings().data_dir / "scratch" / (socket.gethostname() or "this-machine")


def scratch_dir(run_id: int) -> Path:
    """A worker's own folder for a run (jobs' same-host fast path: the pickled inputs)."""
    return machine_scratch() / "runs" / str(int(run_id))


class RunFileStore:
    """One storage interface over fsspec: a local folder (LocalFileSystem) or S3 (s3fs)."""

    def __init__(self, *, url: str, endpoint_url: str = "", data_dir: Path):
        self.url = url.strip()
        self.endpoint_url = endpoint_url.strip()
        self.data_dir = Path(data_dir)
        parsed = urlparse(self.url)
        if parsed.scheme == "s3":
            root = f"{parsed.netloc}/{parsed.path.strip('/')}".strip("/")
            if not parsed.netloc:
                raise EngageError(f"ENGAGE_ARTIFACTS_URL “{self.url}” names no bucket (s3://bucket/prefix).")
            self.is_local, self.root = False, root
        elif parsed.scheme in ("", "file"):
            folder = parsed.path if parsed.scheme == "file" else self.url
            self.is_local, self.root = True, str(Path(folder or self.data_dir).resolve())
        else:
            raise EngageError(f"ENGAGE_ARTIFACTS_URL “{self.url}” is not a folder, file:///folder or "
                              "s3://bucket/prefix.")
        self._fs = None
        self._lock = threading.Lock()

    # --- the filesystem, built on first use ---------------------------------------------

    @property
    def fs(self):
        with self._lock:
            if self._fs is None:
                self._fs = self._filesystem()
            return self._fs

    def _filesystem(self):
        if self.is_local:
            from fsspec.implementations.local import LocalFileSystem

            return LocalFileSystem(auto_mkdir=True)
        import s3fs

        fs = s3fs.S3FileSystem(
            endpoint_url=self.endpoint_url or None, use_listings_cache=False, skip_instance_cache=True,
            # Fail in seconds when the store is down, not after minutes of backing off.
            config_kwargs={"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 2}},
        )
        fs.retries = 2
        return fs

    def _path(self, key: str) -> str:
        return f"{self.root}/{confine_key(key)}"

    def _key_of(self, path: str) -> str:
        return path[len(self.root) + 1:] if path.startswith(self.root + "/") else path

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """Store errors in a planner's words; a missing file stays FileNotFoundError."""
        try:
            yield
        except (FileNotFoundError, EngageError):
            raise
        except Exception as exc:
            LOGGER.warning("run files store %s failed: %s", self.url or self.root, exc, exc_info=True)
            reason = f"{type(exc).__name__}: {exc}".strip()
            raise StoreUnreachable(_UNREACHABLE.format(reason=reason[:200])) from exc

    # --- local side ------------------------------------------------------------------------

    def local_path(self, key: str) -> Path | None:
        """The file or folder a key is on this machine's disk (local stores only), else None."""
        return Path(self._path(key)) if self.is_local else None

    # --- writing ---------------------------------------------------------------------------

    def upload(self, source: Path, key: str) -> list[str]:
        """Put a local file, or every file of a local folder, under `key`; the keys written.
        A local store whose key already is `source` (a worker's run folder) copies nothing."""
        source, key = Path(source), confine_key(key)
        if not source.exists():
            raise FileNotFoundError(source)
        files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
        keys = [key if path == source else f"{key}/{path.relative_to(source).as_posix()}" for path in files]
        with self._reachable():
            for path, target in zip(files, keys):
                destination = self._path(target)
                if self.is_local and Path(destination).resolve() == path.resolve():
                    continue
                self.fs.put_file(str(path), destination)
        return keys

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._reachable():
            self.fs.pipe_file(self._path(key), bytes(data))

    def copy_prefix(self, source: str, target: str) -> list[str]:
        """Copy every file under `source` to the same names under `target` (within the store;
        server-side on S3). Nothing half-copied stays after a failure. The keys written."""
        source, target = confine_key(source), confine_key(target)
        written: list[str] = []
        try:
            with self._reachable():
                for key in self.list_keys(source):
                    copied = target + key[len(source):]
                    self.fs.cp_file(self._path(key), self._path(copied))
                    written.append(copied)
        except BaseException:
            self.delete_prefix(target)
            raise
        return written

    def delete_prefix(self, prefix: str) -> int:
        """Delete every file under `prefix` (a folder of keys, never the store's root); how many."""
        prefix = confine_key(prefix)
        with self._reachable():
            if self.is_local:
                folder = Path(self._path(prefix))
                if folder.is_file():
                    folder.unlink()
                    return 1
                count = sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
                shutil.rmtree(folder, ignore_errors=True)
                return count
            keys = self.list_keys(prefix)
            if keys:
                self.fs.rm([self._path(key) for key in keys])
            return len(keys)

    def delete(self, key: str) -> None:
        """Delete one file (nothing happens when it is not there)."""
        with self._reachable():
            try:
                self.fs.rm_file(self._path(key))
            except FileNotFoundError:
                pass

    # --- reading ---------------------------------------------------------------------------

    def list_keys(self, prefix: str) -> list[str]:
        """Every file key under the folder `prefix` (not keys that merely start with its text)."""
        prefix = confine_key(prefix)
        with self._reachable():
            try:
                found = self.fs.find(self._path(prefix))
            except FileNotFoundError:
                return []
        keys = [self._key_of(path) for path in found]
        return sorted(key for key in keys if key.startswith(prefix + "/"))

    def list_modified(self, prefix: str) -> list[tuple[str, float]]:
        """(key, when it was last written, epoch seconds) of every file under the folder `prefix`."""
        prefix = confine_key(prefix)
        with self._reachable():
            try:
                found = self.fs.find(self._path(prefix), detail=True)
            except FileNotFoundError:
                return []
        entries = []
        for path, info in found.items():
            key = self._key_of(path)
            if not key.startswith(prefix + "/"):
                continue
            modified = info.get("mtime") if self.is_local else info.get("LastModified")
            entries.append((key, modified.timestamp() if hasattr(modified, "timestamp") else float(modified or 0)))
        return sorted(entries)

    def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        with self._reachable():
            try:  # not fs.isfile: it answers False when the store is down
                return self.fs.info(self._path(key)).get("type") == "file"
            except FileNotFoundError:
                return False

    def size(self, key: str) -> int:
        with self._reachable():
            return int(self.fs.size(self._path(key)))

    def open(self, key: str) -> IO[bytes]:
        """A binary file object reading the key (streamed from S3 block by block); close it."""
        with self._reachable():
            return self.fs.open(self._path(key), "rb")

    def read_bytes(self, key: str) -> bytes:
        with self._reachable():
            return self.fs.cat_file(self._path(key))

    def iter_bytes(self, key: str, chunk_size: int = STREAM_CHUNK_BYTES) -> Iterator[bytes]:
        """The key's bytes in chunks (for a streaming HTTP response)."""
        with self.open(key) as fh:
            while True:
                with self._reachable():
                    chunk = fh.read(chunk_size)
                if not chunk:
                    return
                yield chunk

    def fetch(self, key: str) -> Path:
        """A real local file with the key's bytes, for readers that need one (NetCDF, pandas).
        Local store: the file itself. S3: a cached download, named by key, size and ETag (a
        rewritten key gets a new copy), in a cache kept under CACHE_MAX_BYTES (the oldest downloads go first)."""
        if self.is_local:
            path = Path(self._path(key))
            if not path.is_file():
                raise FileNotFoundError(key)
            return path
        key = confine_key(key)
        with self._reachable():
            info = self.fs.info(self._path(key))
            if info.get("type") == "directory":
                raise FileNotFoundError(key)
            tag = f"{key}\0{info.get('size')}\0{info.get('ETag') or info.get('etag') or info.get('LastModified')}"
            cache = self.cache_dir
            cached = cache / (hashlib.sha256(tag.encode()).hexdigest()[:32] + Path(key).suffix)
            if cached.is_file():  # its mtime stays the download's: readers cache on it (results.py)
                return cached
            cache.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f"{cached.name}.{os.getpid()}.{threading.get_ident()}.partial")
            try:
                self.fs.get_file(self._path(key), str(partial))
                os.replace(partial, cached)
            finally:
                partial.unlink(missing_ok=True)
        self._trim_cache(keep=cached)
        return cached

    @property
    def cache_dir(self) -> Path:
        return self.data_dir.joinpath(*CACHE_FOLDER)

    def _trim_cache(self, keep: Path) -> None:
        entries = []
        for path in self.cache_dir.glob("*"):
            if path.is_file() and not path.name.endswith(".partial"):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries, key=lambda entry: entry[0]):
            if total <= CACHE_MAX_BYTES:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size


_stores: dict[tuple, RunFileStore] = {}
_stores_lock = threading.Lock()


def get_store() -> RunFileStore:
    """The store Settings name, built on first use in this process (a forked work horse builds
    its own: an S3 client's event loop does not survive a fork)."""
    settings = get_settings()
    identity = (settings.artifacts_url.strip(), settings.artifacts_endpoint_url.strip(),
                str(settings.data_dir), os.getpid())
    with _stores_lock:
        store = _stores.get(identity)
        if store is None:
            store = _stores[identity] = RunFileStore(url=identity[0], endpoint_url=identity[1],
                                                     data_dir=settings.data_dir)
        return store
