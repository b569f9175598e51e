"""Reading a model folder without trusting it.

Every file a model names (`import:` in any of its YAML files, a data table's `table:`,
`config.init.math_paths`, in the model and in its overrides) must resolve, after following
symbolic links, inside the model's folder; a symbolic link anywhere in the folder must
point inside it too. Paths are resolved and compared before anything is opened, so a
model cannot make Engage read (or even open) a file elsewhere on the server.

YAML is parsed here, not by Calliope: from the parser's events, without recursion, with
bounds on file size, nesting depth, alias use (a "billion laughs" file is refused before
anything is expanded) and the number of values; duplicate keys are refused by name and
line, keys must be text, and import cycles are named. The result is what Calliope's
`read_rich_yaml` gives for a valid model (imports merged the same way), so Calliope's own
loading runs afterwards on a definition that is known to be small and inside the folder.

`import_errors` turns whatever is raised while importing into an `EngageError` a planner
can read.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import functools
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engage_reflex.services.errors import EngageError

logger = logging.getLogger(__name__)

MAX_FOLDER_ENTRIES = 10_000  # files and folders looked at for symbolic links
_INT_LIMIT = 2**63
_MB = 1024 * 1024


# --------------------------------------------------------------------------- limits


@dataclasses.dataclass(frozen=True)
class Limits:
    max_file_mb: float = 20  # any one file: YAML, CSV or math
    max_yaml_depth: int = 64  # nesting of mappings and lists, aliases included
    max_yaml_aliases: int = 10_000  # `*name` uses in one file
    max_yaml_values: int = 1_000_000  # values of one file once its aliases are expanded
    max_import_depth: int = 16  # model.yaml imports a.yaml imports b.yaml ...
    max_files: int = 200  # YAML, CSV and math files one model reads
    max_total_mb: float = 40  # all the files of one kind (YAML; data tables and math) together

    @classmethod
    def from_settings(cls) -> Limits:
        from engage_reflex.settings import get_settings

        s = get_settings()
        return cls(
            max_file_mb=s.import_max_file_mb, max_yaml_depth=s.import_max_yaml_depth,
            max_yaml_aliases=s.import_max_yaml_aliases, max_yaml_values=s.import_max_yaml_values,
            max_import_depth=s.import_max_import_depth, max_files=s.import_max_files,
            max_total_mb=s.import_max_total_mb,
        )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * _MB)


# --------------------------------------------------------------------------- folder


class ModelFolder:
    """The folder a model lives in; the only place its files may come from."""

    def __init__(self, root: Path, limits: Limits | None = None):
        self.root = Path(root).absolute().resolve()
        self.limits = limits or Limits.from_settings()
        self.files_read = 0
        self.bytes_read = 0

    @classmethod
    def for_yaml(cls, yaml_path: Path, limits: Limits | None = None) -> ModelFolder:
        return cls(Path(yaml_path).absolute().parent, limits)

    def name(self, path: Path) -> str:
        """How a file is called in messages: relative to the folder when inside it."""
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    # ------------------------------------------------------------- checking paths

    def inside(self, value: Any, *, key: str, where: Path | None,
               relative_to: Path | None = None) -> Path:
        """The resolved path a model names, refused unless it is inside the folder.

        `key` is the key that names it, `where` the file it appears in; a relative path is
        relative to `relative_to` (default: the folder of `where`). Nothing is opened here.
        """
        origin = f"{self.name(where)}: " if where is not None else ""
        if not isinstance(value, str) or not value.strip():
            raise EngageError(
                f"{origin}`{key}` must be the name of a file (text), not {_describe(value)}.")
        if "\x00" in value:
            raise EngageError(f"{origin}`{key}` names a file with a NUL character in its name.")
        base = relative_to or (where.parent if where is not None else self.root)
        given = Path(value)
        candidate = given if given.is_absolute() else base / given
        try:
            resolved = candidate.resolve()
        except (RuntimeError, OSError) as exc:  # a symbolic link loop
            raise EngageError(
                f"{origin}`{key}` names {value}, which cannot be followed "
                f"(a symbolic link that points to itself?): {_short(exc)}") from exc
        if not resolved.is_relative_to(self.root):
            how = "through a symbolic link, " if _has_symlink(candidate, self.root) else ""
            raise EngageError(
                f"{origin}`{key}` names {value}, which is {how}outside the model folder. "
                "Engage only reads files inside the model's folder: copy the file into it "
                "and name it relative to the YAML file.")
        return resolved

    def check_file(self, path: Path, *, key: str, where: Path | None, value: str,
                   count: bool = True) -> os.stat_result:
        """Refuse a missing, non-regular or too large file (by stat, without opening it)."""
        subject = _subject(self.name(where) if where is not None else None, key, value)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise EngageError(f"{subject} does not exist.") from None
        except OSError as exc:
            raise EngageError(f"{subject} cannot be read: {exc.strerror or exc}.") from exc
        if stat.S_ISDIR(info.st_mode):
            raise EngageError(f"{subject} is a folder, not a file.")
        if not stat.S_ISREG(info.st_mode):
            raise EngageError(f"{subject} is not a regular file (a pipe or a device?).")
        if info.st_size > self.limits.max_file_bytes:
            raise EngageError(
                f"{subject} is {info.st_size / _MB:.1f} MB; files of "
                f"a model can be at most {self.limits.max_file_mb:g} MB "
                "(setting ENGAGE_IMPORT_MAX_FILE_MB).")
        self.files_read += count
        self.bytes_read += info.st_size if count else 0
        if self.bytes_read > self.limits.max_total_mb * _MB:
            raise EngageError(
                f"The files of the model add up to more than {self.limits.max_total_mb:g} MB "
                f"(at {value}; setting ENGAGE_IMPORT_MAX_TOTAL_MB).")
        if self.files_read > self.limits.max_files:
            raise EngageError(
                f"The model reads more than {self.limits.max_files} files "
                "(setting ENGAGE_IMPORT_MAX_FILES).")
        return info

    def read_bytes(self, path: Path, *, key: str, where: Path | None, value: str) -> bytes:
        """The content of a checked file, opened without following links or blocking."""
        self.check_file(path, key=key, where=where, value=value)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            subject = _subject(self.name(where) if where is not None else None, key, value)
            raise EngageError(f"{subject} cannot be read: {exc.strerror or exc}.") from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise EngageError(f"`{key}` names {value}, which is not a regular file.")
            chunks, size = [], 0
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
                size += len(chunk)
                if size > self.limits.max_file_bytes:
                    raise EngageError(f"{value} grew while it was read; try again.")
            return b"".join(chunks)
        finally:
            os.close(fd)

    def read_text(self, path: Path, *, key: str, where: Path | None, value: str) -> str:
        data = self.read_bytes(path, key=key, where=where, value=value)
        return _decode(data, self.name(path))

    def check_symlinks(self) -> None:
        """Every symbolic link in the folder (at any depth) must point inside it."""
        pending, seen = [self.root], 0
        while pending:
            folder = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                raise EngageError(f"Cannot list the folder {self.name(folder)}: "
                                  f"{exc.strerror or exc}.") from exc
            for entry in entries:
                seen += 1
                if seen > MAX_FOLDER_ENTRIES:
                    raise EngageError(
                        f"The model folder holds more than {MAX_FOLDER_ENTRIES} files and "
                        "folders; import a folder that holds only the model.")
                path = Path(entry.path)
                if entry.is_symlink():
                    try:
                        target = path.resolve()
                        loop = False
                    except (RuntimeError, OSError):
                        target, loop = None, True
                    if loop:
                        raise EngageError(f"{self.name(path)} is a symbolic link that loops "
                                          "back on itself; remove it from the model folder.")
                    if not target.is_relative_to(self.root):
                        raise EngageError(
                            f"{self.name(path)} is a symbolic link to {os.readlink(path)}, outside "
                            "the model folder. Engage only reads files inside the model's folder: "
                            "replace the link with a copy of the file.")
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(path)

    # ------------------------------------------------------------- YAML with imports

    def check_table(self, value: Any, *, key: str) -> None:
        """A data table file Calliope is about to read: inside, regular, not too large."""
        resolved = self.inside(value, key=key, where=None)
        self.check_file(resolved, key=key, where=None, value=value)

    def read_model(self, yaml_path: Path):
        """model.yaml with its imports merged the way Calliope merges them (an AttrDict)."""
        self.check_symlinks()
        path = self.inside(str(Path(yaml_path).absolute()), key="model file", where=None)
        return self._read_with_imports(path, chain=(), value=Path(yaml_path).name)

    def read_yaml_file(self, value: str, *, key: str, where: Path | None):
        """A YAML file named by `key` (e.g. a math file, relative to the model's folder as
        Calliope reads it), with its own imports."""
        path = self.inside(value, key=key, where=where, relative_to=self.root)
        return self._read_with_imports(path, chain=(), key=key, where=where, value=value)

    def _read_with_imports(self, path: Path, chain: tuple[Path, ...], key: str = "model file",
                           where: Path | None = None, value: str | None = None):
        from calliope.attrdict import AttrDict

        name = self.name(path)
        if path in chain:
            cycle = [self.name(p) for p in chain[chain.index(path):]] + [name]
            steps = cycle[0] + "".join(
                f"{' imports' if i == 0 else ', which imports'} {n}" for i, n in enumerate(cycle[1:]))
            raise EngageError(f"The imports go round in a circle: {steps}. Remove one of these imports.")
        if len(chain) > self.limits.max_import_depth:
            raise EngageError(
                f"{self.name(chain[0])} imports files more than {self.limits.max_import_depth} levels "
                f"deep (at {name}; setting ENGAGE_IMPORT_MAX_IMPORT_DEPTH).")
        text = self.read_text(path, key=key, where=where, value=value or name)
        data = load_yaml(text, name, self.limits)
        if data is None:
            raise EngageError(f"{name} is empty; a model file needs keys such as `config:` and `techs:`.")
        if not isinstance(data, dict):
            raise EngageError(f"{name} must hold keys and values (like `techs:`), not {_describe(data)}.")
        try:
            loaded = AttrDict(data)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise EngageError(f"{name}: {_dotted_key_message(exc)}") from exc
        self.check_named_paths(loaded, path)
        imports = loaded.get("import")
        if imports is None:
            return loaded
        if not isinstance(imports, list):
            raise EngageError(f"{name}: `import` must be a list of file names.")
        for position, item in enumerate(imports, start=1):
            if not isinstance(item, str):
                raise EngageError(
                    f"{name}: entry {position} of `import` is {_describe(item)}, not a file name; "
                    "write each imported file's name as text, e.g. `- other.yaml`.")
            target = self.inside(item, key="import", where=path)
            imported = self._read_with_imports(target, (*chain, path), key="import", where=path,
                                               value=item)
            try:  # Calliope's rule: the importing file's keys are added to the imported file's
                imported.union(loaded, allow_override=False)
            except KeyError as exc:
                what = str(exc.args[0]) if exc.args else str(exc)
                what = what.removeprefix("Key defined twice: ")
                raise EngageError(
                    f"`{what}` is defined both in {name} and in {item} (or a file it imports); "
                    "define it in one file only.") from exc
            loaded = imported
        loaded.del_key("import")
        return loaded

    def check_named_paths(self, loaded: dict, path: Path) -> None:
        """Refuse (before reading anything) files named by one YAML file outside the folder.

        Calliope reads data tables and math files relative to the model's folder, whichever
        file names them."""
        for key, value in written_paths(loaded):
            raise EngageError(
                f"{self.name(path)}: `{key}` would make the solver write files to {value} on the "
                "server; Engage keeps each run's logs and results itself. Remove this key.")
        for key, value in named_paths(loaded):
            resolved = self.inside(value, key=key, where=path, relative_to=self.root)
            if key.split(".")[-1] == "table" and ".csv" not in Path(value).suffixes:
                continue  # not a file to Calliope (an in-memory table); Calliope says so
            self.check_file(resolved, key=key, where=path, value=value, count=False)


def named_paths(definition: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """(key, value) of every file a definition (or an override in it) names."""
    found: list[tuple[str, Any]] = []
    if not isinstance(definition, dict):
        return found
    for section in ("data_tables", "templates"):
        for name, table in _items(_get(definition, section)):
            if isinstance(table, dict) and "table" in table:
                value = table["table"]
                if section == "data_tables" or (isinstance(value, str) and ".csv" in value):
                    found.append((f"{prefix}{section}.{name}.table", value))
    math_paths = _get(_get(_get(definition, "config"), "init"), "math_paths")
    if isinstance(math_paths, dict):
        found += [(f"{prefix}config.init.math_paths.{k}", v) for k, v in math_paths.items()]
    elif math_paths is not None:
        found.append((f"{prefix}config.init.math_paths", math_paths))
    if not prefix:
        for name, override in _items(_get(definition, "overrides")):
            found += named_paths(override, f"overrides.{name}.")
    return found


def _subject(origin: str | None, key: str, value: str) -> str:
    """How a message names a file: "model.yaml: `import` names a.yaml, which" or "model.yaml"."""
    if key == "model file":
        return str(value)
    return f"{origin + ': ' if origin else ''}`{key}` names {value}, which"


WRITTEN_PATH_KEYS = ("save_logs", "save_per_spore_path")  # config.solve keys Calliope writes to


def written_paths(definition: dict) -> list[tuple[str, Any]]:
    """(key, value) of the places a definition (or an override) tells Calliope to write to."""
    found = []
    for prefix, part in [("", definition), *[(f"overrides.{name}.", override) for name, override
                                             in _items(_get(definition, "overrides"))]]:
        solve = _get(_get(part, "config"), "solve")
        found += [(f"{prefix}config.solve.{k}", solve[k]) for k in WRITTEN_PATH_KEYS
                  if isinstance(solve, dict) and solve.get(k) is not None]
    return found


def _items(value: Any) -> list[tuple[Any, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _has_symlink(candidate: Path, root: Path) -> bool:
    """Does the way to `candidate` go through a symbolic link (for the message only)?"""
    path = Path(os.path.normpath(candidate))
    try:
        return any(part.is_symlink() for part in (path, *path.parents))
    except OSError:
        return False


# ---------------------------------------------------------------------------- YAML


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        kind = "YAML " if name.lower().endswith((".yaml", ".yml")) else ""
        raise EngageError(f"{name} is a binary file, not {kind}text.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EngageError(
            f"{name} is not UTF-8 text (line {line} has the byte 0x{data[exc.start]:02x}); "
            "save it with the UTF-8 encoding.") from None
    return text.removeprefix("\ufeff")


@dataclasses.dataclass
class _Frame:
    obj: Any
    anchor: str | None
    line: int
    size: int = 1  # values once aliases are expanded, this collection included
    height: int = 1  # nesting below and including this collection
    key: Any = None
    has_key: bool = False
    key_line: int = 0
    explicit: dict = dataclasses.field(default_factory=dict)  # key -> line
    merge_next: bool = False


_MERGE = "tag:yaml.org,2002:merge"
_MAP_TAGS = {None, "!", "tag:yaml.org,2002:map"}
_SEQ_TAGS = {None, "!", "tag:yaml.org,2002:seq"}


def load_yaml(text: str, name: str, limits: Limits) -> Any:
    """One YAML document, like ruamel's safe loader, bounded and without recursion."""
    import ruamel.yaml as ruamel_yaml
    from ruamel.yaml import events as ev
    from ruamel.yaml.nodes import ScalarNode

    yaml = ruamel_yaml.YAML(typ="safe", pure=True)
    resolver, constructor = yaml.resolver, yaml.constructor
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int, int]] = {}  # anchor -> (object, size, height)
    state = {"values": 0, "aliases": 0, "documents": 0, "root": None}

    def refuse(line: int, message: str) -> EngageError:
        return EngageError(f"{name}, line {line}: {message}")

    def count(line: int, size: int) -> None:
        state["values"] += size
        if state["values"] > limits.max_yaml_values:
            raise refuse(line, f"the file holds more than {limits.max_yaml_values:,} values once "
                               "its aliases (`*name`) are expanded (setting "
                               "ENGAGE_IMPORT_MAX_YAML_VALUES).")

    def add(value: Any, size: int, height: int, line: int) -> None:
        if len(stack) + height > limits.max_yaml_depth:
            raise refuse(line, f"the file nests more than {limits.max_yaml_depth} levels deep "
                               "(setting ENGAGE_IMPORT_MAX_YAML_DEPTH).")
        if not stack:
            state["root"] = value
            return
        frame = stack[-1]
        frame.size += size
        frame.height = max(frame.height, height + 1)
        if isinstance(frame.obj, list):
            frame.obj.append(value)
        elif not frame.has_key:
            _check_key(value, line, frame, refuse)
            frame.key, frame.has_key, frame.key_line = value, True, line
        else:
            key, frame.has_key = frame.key, False
            if frame.merge_next:
                frame.merge_next = False
                _merge(frame, value, frame.key_line, refuse)
            elif key in frame.explicit:
                raise refuse(frame.key_line, f"`{key}` is defined twice in the same place "
                                             f"(first on line {frame.explicit[key]}); keep one.")
            else:
                frame.explicit[key] = frame.key_line
                frame.obj[key] = value

    try:
        for event in yaml.parse(text):
            line = (event.start_mark.line + 1) if event.start_mark is not None else 0
            if isinstance(event, ev.ScalarEvent):
                tag = event.tag
                if tag is None or str(tag) == "!":
                    tag = resolver.resolve(ScalarNode, event.value, event.implicit)
                tag = str(getattr(tag, "value", tag))
                if tag == _MERGE and stack and isinstance(stack[-1].obj, dict) and not stack[-1].has_key:
                    frame = stack[-1]
                    frame.merge_next, frame.has_key, frame.key_line = True, True, line
                    count(line, 1)
                    continue
                value = _scalar(constructor, tag, event, ScalarNode, refuse, line)
                count(line, 1)
                if event.anchor:
                    anchors[event.anchor] = (value, 1, 0)
                add(value, 1, 0, line)
            elif isinstance(event, ev.AliasEvent):
                if event.anchor not in anchors:
                    raise refuse(line, f"the alias `*{event.anchor}` has no anchor `&{event.anchor}` "
                                       "before it.")
                state["aliases"] += 1
                if state["aliases"] > limits.max_yaml_aliases:
                    raise refuse(line, f"the file uses aliases (`*name`) more than "
                                       f"{limits.max_yaml_aliases:,} times (setting "
                                       "ENGAGE_IMPORT_MAX_YAML_ALIASES).")
                value, size, height = anchors[event.anchor]
                count(line, size)
                add(value, size, height, line)
            elif isinstance(event, ev.MappingStartEvent | ev.SequenceStartEvent):
                is_map = isinstance(event, ev.MappingStartEvent)
                tag = event.tag if event.tag is None else str(getattr(event.tag, "value", event.tag))
                if tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    raise refuse(line, f"the YAML tag {tag} is not supported; remove it.")
                if len(stack) + 1 > limits.max_yaml_depth:
                    raise refuse(line, f"the file nests more than {limits.max_yaml_depth} levels "
                                       "deep (setting ENGAGE_IMPORT_MAX_YAML_DEPTH).")
                stack.append(_Frame({} if is_map else [], event.anchor, line))
            elif isinstance(event, ev.MappingEndEvent | ev.SequenceEndEvent):
                frame = stack.pop()
                if isinstance(frame.obj, dict):
                    _check_dotted_keys(frame, refuse)
                count(line, 1)
                if frame.anchor:
                    anchors[frame.anchor] = (frame.obj, frame.size, frame.height)
                add(frame.obj, frame.size, frame.height, frame.line)
            elif isinstance(event, ev.DocumentStartEvent):
                state["documents"] += 1
                if state["documents"] > 1:
                    raise refuse(line, "the file holds more than one YAML document (`---`); "
                                       "keep one.")
    except EngageError:
        raise
    except ruamel_yaml.YAMLError as exc:
        raise EngageError(f"{name} is not valid YAML: {_yaml_problem(exc)}") from None
    return state["root"]


def _scalar(constructor, tag: str, event, node_type, refuse, line: int) -> Any:
    if "\x00" in event.value:
        raise refuse(line, "a text value holds a NUL character (\\0); remove it.")
    build = constructor.yaml_constructors.get(tag)
    if build is None or tag.startswith("tag:yaml.org,2002:python/"):
        raise refuse(line, f"the YAML tag {tag} is not supported; remove it.")
    node = node_type(tag, event.value, event.start_mark, event.end_mark, style=event.style)
    try:
        value = build(constructor, node)
    except ValueError as exc:  # e.g. an integer with thousands of digits, a bad date
        raise refuse(line, f"`{event.value[:40]}` is not a value Engage can read: {_short(exc)}") from None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _INT_LIMIT:
        raise refuse(line, f"the number {event.value[:40]} is too large; write it as a decimal "
                           "number (e.g. 1e30) or `.inf`.")
    return value


def _check_key(key: Any, line: int, frame: _Frame, refuse) -> None:
    if isinstance(key, str):
        return
    if isinstance(key, int) and not isinstance(key, bool):
        return  # Calliope turns integer keys into text
    if isinstance(key, dict | list):
        raise refuse(line, "a key is a list or a mapping; keys must be names (text).")
    kind = {bool: "true/false", datetime.date: "a date", datetime.datetime: "a date and time",
            float: "a number", type(None): "empty (null)"}.get(type(key), type(key).__name__)
    raise refuse(line, f"the key {key!s} reads as {kind}, but keys must be names (text); put it "
                       f"in quotes, e.g. \"{key!s}\":.")


def _check_dotted_keys(frame: _Frame, refuse) -> None:
    """`a.b.c: 1` beside `a: {b: 5}` would make Calliope drop `a` silently: refuse it."""
    for key in frame.obj:
        if not isinstance(key, str) or "." not in key:
            continue
        parts, node = key.split("."), frame.obj
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node or node[part] is None:
                break
            node = node[part]
            if not isinstance(node, dict):
                inside = ".".join(parts[: depth + 1])
                raise refuse(frame.explicit.get(key, frame.line),
                             f"the dotted key `{key}` sets a value inside `{inside}`, which is a "
                             "single value, not a mapping; write the keys nested instead.")


def _merge(frame: _Frame, value: Any, line: int, refuse) -> None:
    sources = value if isinstance(value, list) else [value]
    if not all(isinstance(s, dict) for s in sources):
        raise refuse(line, "`<<` must be followed by a mapping or a list of mappings.")
    for source in sources:
        for key, item in source.items():
            if key not in frame.explicit and key not in frame.obj:
                frame.obj[key] = item


def _yaml_problem(exc: BaseException) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return _short(exc)


def _dotted_key_message(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    if "nested key on non-dict" in str(text):
        return ("a dotted key (like `techs.pv.flow_cap_max`) sets a value inside a key that "
                "is not a mapping; write the keys nested instead.")
    return _short(exc)


def _describe(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime.date):
        return f"a date ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    return f"`{str(value)[:60]}`"


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).replace('in "<unicode string>", ', "")
    return text[:300] or type(exc).__name__


# ------------------------------------------------------------------------- errors


def import_errors(func: Callable) -> Callable:
    """Every exception of an import becomes an EngageError a planner can read."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except EngageError:
            raise
        except Exception as exc:  # noqa: BLE001 - the whole point: no traceback reaches a planner
            # The planner gets words; the operators' log keeps the traceback (it may be our bug).
            logger.warning("import failed: %s", type(exc).__name__, exc_info=True)
            raise EngageError(describe_import_error(exc)) from exc

    return wrapper


def describe_import_error(exc: BaseException) -> str:
    from engage_reflex.services.calliope_io.values import _calliope_message

    if isinstance(exc, RecursionError):
        return "Engage could not read this model: it nests too deeply."
    if isinstance(exc, MemoryError):
        return ("Engage could not read this model: it needs more memory than this server has; "
                "make its data tables smaller.")
    if isinstance(exc, UnicodeDecodeError):
        return ("Engage could not read this model: a file is not UTF-8 text "
                f"({_short(exc)}); save it with the UTF-8 encoding.")
    if isinstance(exc, OSError):
        where = f" {Path(exc.filename).name}" if getattr(exc, "filename", None) else ""
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or _short(exc)
        return f"Engage could not read the file{where} of this model: {reason}."
    module = type(exc).__module__ or ""
    if module.startswith("pandas"):
        return f"Engage could not read a data table of this model: {_short(exc)}"
    if module.startswith("sqlalchemy") or module.startswith("psycopg"):
        orig = getattr(exc, "orig", None) or exc
        return f"Engage could not store this model: {_short(orig).split(' [SQL:')[0]}"
    if module.startswith("calliope") or module.startswith("pydantic"):
        return f"Calliope cannot load this model: {_calliope_message(exc)}"
    if not _raised_in_calliope(exc):
        # A plain Python error outside Calliope's code is Engage's own fault, not the model's:
        # say so rather than dress it up as advice about the model.
        return (f"{INTERNAL_ERROR_PREFIX} ({type(exc).__name__}: {_short(exc)[:200]}). The administrator "
                "finds the details in the server log; please tell them which model you imported.")
    return f"Engage could not read this model: {_calliope_message(exc)[:300]}"


INTERNAL_ERROR_PREFIX = "Engage failed on this model because of an error in Engage itself"


def _raised_in_calliope(exc: BaseException) -> bool:
    """Whether the innermost frame of the exception's traceback is in Calliope (or what it calls)."""
    tb = exc.__traceback__
    if tb is None:
        return True  # built by hand (tests, wrappers): judge by the message only
    while tb.tb_next is not None:
        tb = tb.tb_next
    return not Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_ENGAGE_PACKAGE)


_ENGAGE_PACKAGE = Path(__file__).resolve().parents[2]  # engage_reflex/
