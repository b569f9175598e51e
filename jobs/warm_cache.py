"""Memo caches for work calliope 0.7.0 repeats on every model; the worker installs them once.

Why: a warm worker already saves the imports, but every run still paid for work that depends
only on calliope's own code and files, never on the model being solved:

* **pyparsing grammars.** calliope builds a fresh grammar for every `where` string and every
  math component (`where_parser.generate_where_string_parser`, and `expression_parser`'s
  `generate_equation_parser` / `generate_arithmetic_parser` / `generate_sub_expression_parser`
  / `generate_slice_parser`): a few hundred times per read + build, although a model only
  ever asks for a handful of distinct grammars. Each grammar is a pure function of the *sets
  of names* it is given, so it is memoised under the frozensets of those names.
* **calliope's built-in math and config YAML files** (`calliope/math/*.yaml`,
  `calliope/config/*.yaml`), parsed again with pure-Python ruamel on every `calliope.read_*`.
  Memoised by path, mtime and size; each call gets its own fresh copy, so no caller can
  change what the next one reads. Nothing else is cached: not model files, not even the
  example models that ship inside the calliope package.

`install()` runs in the worker before rq forks work horses, and `warm_up()` fills the caches
there for calliope's built-in math, so every horse starts with parsed files and ready
grammars. Nothing derived from a model's data, inputs or results is cached: each run still
reads, builds, solves and writes everything of its own.

Why sharing a grammar is safe (checked against calliope 0.7.0 / pyparsing 3.3):
* parse actions are calliope classes, instantiated afresh for every match, so the parsed
  objects (to which calliope later attaches `eval_attrs`) are never shared between parses;
* pyparsing clears its packrat cache at the start of every `parse_string`;
* nothing mutates a grammar after it is built; the first parse streamlines it (idempotent);
* the only shared mutable defaults (`Opt(..., default=[] / {})` for helper-function args)
  are only read by calliope (`EvalFunction`).
tests/jobs/test_warm_cache.py checks that models solve to identical results with and without
the caches, twice in one process.

The patches replace module attributes by name (plus `ParsedBackendComponent.PARSERS`, which
captured the generator functions at import) and are tied to calliope==0.7.0: on any other
version `install()` logs a line and changes nothing.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)

SUPPORTED_CALLIOPE = "0.7.0"
# Math priorities whose grammars warm_up() builds (calliope's default mode is "base").
PREWARM_MATH: tuple[tuple[str, ...], ...] = (("base",),)
# A model asks each generator for 2 grammars (with and without postprocessed names): room
# for many models' math in a long-lived process (a work horse only ever runs one job).
MAX_GRAMMARS_PER_FUNCTION = 64

_lock = threading.RLock()
_installed: list[tuple[Any, str, Any]] = []  # (owner, attribute, original) to undo install()
_memos: dict[str, _Memo] = {}


class _Memo:
    """A small LRU memo around one pure function; `key` maps the call to a hashable key
    (or raises TypeError, and then the call is passed through uncached)."""

    def __init__(self, name: str, func: Callable, key: Callable[..., Hashable], maxsize: int):
        self.name, self.func, self.key, self.maxsize = name, func, key, maxsize
        self.cache: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = self.misses = self.bypassed = 0
        self.miss_seconds = 0.0

    def __call__(self, *args, **kwargs):
        try:
            key = self.key(*args, **kwargs)
            hash(key)
        except TypeError:
            self.bypassed += 1
            return self.func(*args, **kwargs)
        with _lock:
            if key in self.cache:
                self.hits += 1
                self.cache.move_to_end(key)
                return self.cache[key]
        started = time.perf_counter()
        value = self.func(*args, **kwargs)
        with _lock:
            self.misses += 1
            self.miss_seconds += time.perf_counter() - started
            self.cache[key] = value
            while len(self.cache) > self.maxsize:
                self.cache.popitem(last=False)
        return value

    def clear(self) -> None:
        with _lock:
            self.cache.clear()
            self.hits = self.misses = self.bypassed = 0
            self.miss_seconds = 0.0


def _names(value) -> frozenset | None:
    return None if value is None else frozenset(value)


def names_key(valid_component_names) -> frozenset:
    """Key of the expression grammars: the set of valid component names."""
    return frozenset(valid_component_names)


def where_key(dimensions, inputs, results, postprocessed=None) -> tuple:
    """Key of the where grammar. `postprocessed=None` and an empty set build the same grammar
    but are kept apart anyway (no reasoning about calliope internals needed)."""
    return (frozenset(dimensions), frozenset(inputs), frozenset(results), _names(postprocessed))


def _bound_key(func: Callable, key: Callable) -> Callable[..., Hashable]:
    signature = inspect.signature(func)

    def bound(*args, **kwargs):
        arguments = signature.bind(*args, **kwargs)
        return key(*arguments.args, **arguments.kwargs)

    return bound


# --- calliope's own YAML files -----------------------------------------------------------

class _YamlFiles:
    """read_rich_yaml for calliope's own math/config files; anything else (model files, the
    bundled example models, YAML strings) goes straight through."""

    def __init__(self, func: Callable, directories: tuple[Path, ...]):
        self.func = func
        self.directories = tuple(d.resolve() for d in directories)
        self.cache: dict[tuple, bytes] = {}
        self.hits = self.misses = 0

    def package_file(self, yaml) -> Path | None:
        if isinstance(yaml, str):
            if "\n" in yaml or not yaml.endswith((".yaml", ".yml")):
                return None  # a YAML string, not a path
        elif not isinstance(yaml, os.PathLike):
            return None
        try:
            path = Path(yaml).resolve()
        except (OSError, ValueError):
            return None
        if path.parent not in self.directories or not path.is_file():
            return None
        return path

    def __call__(self, yaml, allow_override: bool = False):
        path = self.package_file(yaml)
        if path is None:
            return self.func(yaml, allow_override)
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size, bool(allow_override))
        with _lock:
            blob = self.cache.get(key)
        if blob is None:
            loaded = self.func(yaml, allow_override)
            # Kept as a pickled plain dict: every caller then gets a fresh, unshared AttrDict.
            blob = pickle.dumps(loaded.as_dict(), protocol=pickle.HIGHEST_PROTOCOL)
            with _lock:
                self.misses += 1
                self.cache[key] = blob
            return loaded
        with _lock:
            self.hits += 1
        from calliope.attrdict import AttrDict

        return AttrDict(pickle.loads(blob))

    def clear(self) -> None:
        with _lock:
            self.cache.clear()
            self.hits = self.misses = 0


# --- install / uninstall -----------------------------------------------------------------

def _patch(owner: Any, attribute: str, replacement: Any) -> None:
    _installed.append((owner, attribute, getattr(owner, attribute)))
    setattr(owner, attribute, replacement)


def _wrap(name: str, func: Callable, key: Callable) -> Callable:
    memo = _Memo(name, func, _bound_key(func, key), MAX_GRAMMARS_PER_FUNCTION)
    _memos[name] = memo

    @functools.wraps(func)
    def cached(*args, **kwargs):
        return memo(*args, **kwargs)

    cached.memo = memo  # type: ignore[attr-defined]
    return cached


def is_installed() -> bool:
    return bool(_installed)


def install(prewarm: bool = True) -> bool:
    """Patch calliope (once per process). Returns whether the caches are active."""
    import calliope

    with _lock:
        if _installed:
            return True
        if calliope.__version__ != SUPPORTED_CALLIOPE:
            LOGGER.info("warm caches not installed: they are written for calliope %s, this is %s",
                        SUPPORTED_CALLIOPE, calliope.__version__)
            return False
        from calliope import io as calliope_io
        from calliope.backend import expression_parser, parsing, where_parser
        from calliope.preprocess import model_definition, model_math

        replaced: dict[Callable, Callable] = {}
        for name in ("generate_equation_parser", "generate_arithmetic_parser",
                     "generate_sub_expression_parser", "generate_slice_parser"):
            original = getattr(expression_parser, name)
            replaced[original] = _wrap(name, original, names_key)
            _patch(expression_parser, name, replaced[original])
        original = where_parser.generate_where_string_parser
        _patch(where_parser, "generate_where_string_parser",
               _wrap("generate_where_string_parser", original, where_key))
        # The class captured the generator functions when calliope was imported.
        parsers = dict(parsing.ParsedBackendComponent.PARSERS)
        _patch(parsing.ParsedBackendComponent, "PARSERS",
               {group: replaced.get(func, func) for group, func in parsers.items()})

        package = Path(calliope.__file__).parent
        yaml_files = _YamlFiles(calliope_io.read_rich_yaml, (package / "math", package / "config"))
        _memos["read_rich_yaml"] = yaml_files  # type: ignore[assignment]
        read_yaml = functools.wraps(calliope_io.read_rich_yaml)(yaml_files)
        # `from calliope.io import read_rich_yaml` made copies in these modules; load_config
        # (used by preprocess.data_tables) looks it up in calliope.io.
        for module in (calliope_io, model_math, model_definition):
            if getattr(module, "read_rich_yaml", None) is yaml_files.func:
                _patch(module, "read_rich_yaml", read_yaml)
    LOGGER.info("warm caches installed for calliope %s", calliope.__version__)
    if prewarm:
        seconds = warm_up()
        LOGGER.info("warm caches: built-in math read and grammars built in %.2f s", seconds)
    return True


def uninstall() -> None:
    """Restore calliope's own functions and drop the caches (tests)."""
    with _lock:
        while _installed:
            owner, attribute, original = _installed.pop()
            setattr(owner, attribute, original)
        _memos.clear()


def clear() -> None:
    """Empty the caches (and their counters), keeping them installed."""
    for memo in list(_memos.values()):
        memo.clear()


def stats() -> dict[str, dict[str, float]]:
    """hits / misses (and entries) per cache, e.g. for a log line or a test."""
    out = {}
    for name, memo in list(_memos.items()):
        out[name] = {"hits": memo.hits, "misses": memo.misses, "entries": len(memo.cache)}
    return out


def warm_up(priorities: tuple[tuple[str, ...], ...] = PREWARM_MATH) -> float:
    """Fill the caches for calliope's built-in math: read its YAML files, and build the
    grammars that reading (math validation) and building (where/expression parsing) a model
    with that math ask for. Model-independent; meant to run in the worker before forking."""
    started = time.monotonic()
    if not _installed:
        return 0.0
    from calliope.backend import expression_parser, where_parser
    from calliope.io import load_config
    from calliope.preprocess import model_math
    from calliope.schemas.math_schema import CalliopeInputMath

    for config in ("data_table_exclusions.yaml",):
        load_config(config)
    math_init = CalliopeInputMath.model_validate(model_math.initialise_math())
    for priority in priorities:
        # validate=True parses every math string: the grammars a model read asks for.
        math = model_math.build_math(list(priority), math_init, validate=True)
        components = math.parsing_components
        postprocessed = {"where": set(math.postprocessed.root),
                         "expression": set(math.postprocessed._active)}
        for extra in (None, postprocessed):  # build: main components, then postprocessed ones
            where = dict(components["where"])
            expression = dict(components["expression"])
            if extra is not None:
                where["postprocessed"] = extra["where"]
                expression["postprocessed"] = extra["expression"]
            grammars = [where_parser.generate_where_string_parser(**where)]
            names = set().union(*expression.values())
            for name in ("generate_equation_parser", "generate_arithmetic_parser",
                         "generate_sub_expression_parser", "generate_slice_parser"):
                grammars.append(getattr(expression_parser, name)(names))
            for grammar in grammars:
                grammar.streamline()  # what the first parse_string would do in each horse
        # _check_inputs asks for the where grammar without "postprocessed" — covered above.
    return time.monotonic() - started
