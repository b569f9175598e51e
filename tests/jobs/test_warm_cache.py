"""jobs.warm_cache: the worker's memo caches change nothing but the time calliope takes.

* Real models (national_scale and urban_scale, short subsets) solved without the caches, then
  twice with them in the same process, give exactly the same objective and capacities.
* Cache keys tell different name sets apart, and a cached grammar still behaves as the
  name set it was built for.
* Cached YAML is handed out as fresh copies; other versions of calliope are left alone.
"""

from __future__ import annotations

import json
import logging

import pandas as pd
import pyparsing as pp
import pytest

import calliope
from jobs import warm_cache

EXAMPLES = {
    "national_scale": (calliope.examples.national_scale, ["2005-01-01", "2005-01-01"]),
    "urban_scale": (calliope.examples.urban_scale, ["2005-07-01", "2005-07-01"]),
}


@pytest.fixture
def caches():
    """Installed (without the worker's warm-up: the tests decide what gets cached), then removed."""
    warm_cache.uninstall()
    assert warm_cache.install(prewarm=False)
    yield warm_cache
    warm_cache.uninstall()


@pytest.fixture
def no_caches():
    warm_cache.uninstall()
    yield
    warm_cache.uninstall()


def _solve(example: str) -> dict:
    read, timesteps = EXAMPLES[example]
    model = read(subset={"timesteps": timesteps})
    model.build(backend="highs")
    model.solve(solver_options={"output_flag": False})
    assert model.runtime.termination_condition == "optimal"
    results = model.results
    return {
        "objective": float(results.min_cost_optimisation),
        **{name: results[name].to_series() for name in ("flow_cap", "storage_cap", "source_cap")
           if name in results.data_vars},
        # dispatch too: identical LPs give identical solutions, not only identical optima
        "flow_out": results.flow_out.to_series(),
    }


def _assert_identical(expected: dict, actual: dict) -> None:
    assert actual.keys() == expected.keys()
    assert actual["objective"] == expected["objective"]
    for name in expected:
        if name != "objective":
            pd.testing.assert_series_equal(actual[name], expected[name], check_exact=True)


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_models_solve_identically_with_the_caches(example, no_caches):
    baseline = _solve(example)
    assert baseline["objective"] > 0

    assert warm_cache.install(prewarm=True)
    try:
        first = _solve(example)
        second = _solve(example)
        stats = warm_cache.stats()
    finally:
        warm_cache.uninstall()
    _assert_identical(baseline, first)
    _assert_identical(baseline, second)
    # not vacuous: the grammars and math files really came from the caches
    assert stats["generate_where_string_parser"]["hits"] > 100
    assert stats["generate_equation_parser"]["hits"] > 10
    assert stats["read_rich_yaml"]["hits"] >= 5


def test_keys_distinguish_name_sets():
    assert warm_cache.names_key({"a", "b"}) == warm_cache.names_key(["b", "a"])
    assert warm_cache.names_key({"a", "b"}) != warm_cache.names_key({"a", "c"})
    assert warm_cache.names_key({"a", "b"}) != warm_cache.names_key({"a", "b", "c"})

    base = warm_cache.where_key({"nodes"}, {"p"}, {"v"})
    assert base == warm_cache.where_key(["nodes"], ["p"], ["v"], None)
    assert base != warm_cache.where_key({"nodes"}, {"p"}, {"v", "w"})
    assert base != warm_cache.where_key({"nodes"}, {"v"}, {"p"})  # same names, other roles
    assert base != warm_cache.where_key({"nodes", "p"}, set(), {"v"})
    assert base != warm_cache.where_key({"nodes"}, {"p"}, {"v"}, {"post"})
    assert base != warm_cache.where_key({"nodes"}, {"p"}, {"v"}, set())


def test_cached_grammars_are_per_name_set_and_parse_into_fresh_objects(caches):
    from calliope.backend import expression_parser, where_parser

    ab = expression_parser.generate_arithmetic_parser({"a", "b"})
    assert expression_parser.generate_arithmetic_parser(["b", "a"]) is ab
    ac = expression_parser.generate_arithmetic_parser({"a", "c"})
    assert ac is not ab
    # "c" is a component only for the grammars built with it
    with pytest.raises(pp.ParseException):
        ab.parse_string("c", parse_all=True)
    assert isinstance(ac.parse_string("c", parse_all=True)[0], expression_parser.EvalUnslicedComponent)
    slice_ab = expression_parser.generate_slice_parser({"a", "b"})
    slice_ac = expression_parser.generate_slice_parser({"a", "c"})
    assert slice_ab is not slice_ac
    assert isinstance(slice_ab.parse_string("c", parse_all=True)[0], expression_parser.EvalGenericString)
    assert isinstance(slice_ac.parse_string("c", parse_all=True)[0], expression_parser.EvalUnslicedComponent)
    # each parse makes its own objects (calliope attaches per-component state to them)
    first = ab.parse_string("a + 2 * b", parse_all=True)[0]
    second = ab.parse_string("a + 2 * b", parse_all=True)[0]
    assert first is not second and repr(first) == repr(second)

    where_a = where_parser.generate_where_string_parser({"nodes"}, {"a"}, {"x"})
    assert where_parser.generate_where_string_parser({"nodes"}, {"a"}, {"x"}) is where_a
    where_b = where_parser.generate_where_string_parser(dimensions={"nodes"}, inputs={"b"}, results={"x"})
    assert where_b is not where_a
    assert isinstance(where_a.parse_string("a", parse_all=True)[0], where_parser.InputArrayParser)
    with pytest.raises(pp.ParseException):
        where_b.parse_string("a", parse_all=True)  # not an input of that grammar
    stats = warm_cache.stats()
    assert stats["generate_arithmetic_parser"] == {"hits": 1, "misses": 2, "entries": 2}
    assert stats["generate_where_string_parser"] == {"hits": 1, "misses": 2, "entries": 2}


def test_the_class_level_parser_table_uses_the_caches(caches):
    from calliope.backend import expression_parser, parsing

    parsers = parsing.ParsedBackendComponent.PARSERS
    assert parsers["constraints"] is expression_parser.generate_equation_parser
    assert parsers["global_expressions"] is expression_parser.generate_arithmetic_parser
    warm_cache.uninstall()
    assert parsing.ParsedBackendComponent.PARSERS["constraints"].__name__ == "generate_equation_parser"
    assert not hasattr(parsing.ParsedBackendComponent.PARSERS["constraints"], "memo")
    assert not hasattr(expression_parser.generate_equation_parser, "memo")


def test_built_in_yaml_is_cached_as_fresh_copies(caches):
    from calliope.io import load_config
    from calliope.preprocess import model_math

    first = model_math.initialise_math()
    first["base"]["variables"]["flow_cap"]["bounds"]["min"] = "changed"
    first["base"]["variables"].pop("flow_out")
    second = model_math.initialise_math()
    assert second["base"]["variables"]["flow_cap"]["bounds"]["min"] != "changed"
    assert "flow_out" in second["base"]["variables"]
    assert type(second) is type(first) and type(second["base"]["variables"]) is type(first["base"]["variables"])
    assert load_config("data_table_exclusions.yaml") == load_config("data_table_exclusions.yaml")
    stats = warm_cache.stats()["read_rich_yaml"]
    assert stats["hits"] >= 5 and stats["entries"] >= 6

    warm_cache.uninstall()  # the same content straight from calliope (which has NaNs: compare as JSON)
    assert _as_json(model_math.initialise_math()) == _as_json(second)


def _as_json(attrdict) -> str:
    return json.dumps(attrdict.as_dict(), sort_keys=True, default=repr)


def test_model_files_and_yaml_strings_are_not_cached(caches, tmp_path):
    from calliope import io

    path = tmp_path / "model.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert io.read_rich_yaml(path) == {"a": 1}
    path.write_text("a: 2\n", encoding="utf-8")
    assert io.read_rich_yaml(path) == {"a": 2}
    assert io.read_rich_yaml("b: 3") == {"b": 3}
    example = calliope.examples._EXAMPLE_MODEL_DIR / "national_scale" / "model.yaml"
    io.read_rich_yaml(example)
    io.read_rich_yaml(example)
    assert warm_cache.stats()["read_rich_yaml"]["entries"] == 0


def test_other_calliope_versions_are_left_alone(no_caches, monkeypatch, caplog):
    from calliope.backend import where_parser

    original = where_parser.generate_where_string_parser
    monkeypatch.setattr(calliope, "__version__", "0.7.1")
    with caplog.at_level(logging.INFO, logger="jobs.warm_cache"):
        assert warm_cache.install() is False
    assert "not installed" in caplog.text and "0.7.1" in caplog.text
    assert where_parser.generate_where_string_parser is original
    assert not warm_cache.is_installed()
