"""Exact comparison of Calliope's `model.inputs` (the lossless round-trip tests use it).

Two models are the same input to Calliope when their `inputs` datasets have the same
variables, the same coordinates (compared after sorting: the order in which techs or
nodes first appear in a definition is not an input), and for each variable the same
dimensions, the same dtype and the same values, NaN at the same places.

One difference is accepted, and only this one: a variable indexed over `nodes` in one
and not in the other (e.g. `flow_cap_max` per (node, tech) in the original because a data
table gives it per node, per tech in the export because the tech's own YAML value wins at
every node). Calliope's math reads it per (node, tech) either way, so both are compared
per (node, tech) wherever a tech is defined at a node, NaN included. Engage does not
copy a tech's value to every node to match: a later edit of the tech would not reach them.

Attributes: Calliope 0.7 sets none on `inputs` or its variables; any that appear are
compared too, so no attribute is excluded.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


def _sorted(array: xr.DataArray) -> xr.DataArray:
    return array.sortby(list(array.dims)) if array.dims else array


def _defined(inputs: xr.Dataset) -> xr.DataArray:
    """Where a tech exists at a node (carriers and `active`), as Calliope's math sees it."""
    return (inputs.carrier_in | inputs.carrier_out).any("carriers") & inputs.active


def _same_values(a: xr.DataArray, b: xr.DataArray) -> bool:
    left, right = a.values, b.values
    if left.dtype.kind in "fc" and right.dtype.kind in "fc":
        return np.array_equal(left, right, equal_nan=True)
    missing_left, missing_right = pd.isna(left), pd.isna(right)
    if not np.array_equal(missing_left, missing_right):
        return False
    return bool(np.all(left[~missing_left] == right[~missing_right]))


def input_differences(expected: xr.Dataset, actual: xr.Dataset) -> list[str]:
    """Every difference between two `model.inputs` datasets (empty when identical)."""
    problems = []
    for name in sorted(set(expected.data_vars) ^ set(actual.data_vars)):
        problems.append(f"{name}: only in {'original' if name in expected.data_vars else 'export'}")
    for name in sorted(set(expected.coords) | set(actual.coords)):
        if name not in expected.coords or name not in actual.coords:
            problems.append(f"coordinate {name}: only in one of the two")
            continue
        a, b = (np.sort(ds.coords[name].values) for ds in (expected, actual))
        if a.dtype != b.dtype or not np.array_equal(a, b):
            problems.append(f"coordinate {name}: {a.dtype}{list(a)[:8]} != {b.dtype}{list(b)[:8]}")
    for name in sorted(set(expected.data_vars) & set(actual.data_vars)):
        a, b = expected[name], actual[name]
        if set(a.dims) != set(b.dims):
            if set(a.dims) ^ set(b.dims) != {"nodes"}:
                problems.append(f"{name}: dims {a.dims} != {b.dims}")
                continue
            if a.dtype != b.dtype:
                problems.append(f"{name}: dtype {a.dtype} != {b.dtype}")
                continue
            defined = _defined(expected)  # the one accepted difference (see above)
            a, b = (x.broadcast_like(defined).where(defined) for x in (a, b))
        a, b = _sorted(a), _sorted(b.transpose(*a.dims))
        if a.dtype != b.dtype:
            problems.append(f"{name}: dtype {a.dtype} != {b.dtype}")
        elif a.shape != b.shape or any(
                not np.array_equal(a[d].values, b[d].values) for d in a.dims):
            problems.append(f"{name}: indexed over different items")
        elif not _same_values(a, b):
            problems.append(f"{name}: values differ")
        if a.attrs != b.attrs:
            problems.append(f"{name}: attrs {a.attrs} != {b.attrs}")
    if expected.attrs != actual.attrs:
        problems.append(f"dataset attrs {expected.attrs} != {actual.attrs}")
    return problems


def assert_same_inputs(original, exported) -> None:
    """Calliope models (or their `inputs`) that are the same input to the optimisation."""
    expected = getattr(original, "inputs", original)
    actual = getattr(exported, "inputs", exported)
    assert input_differences(expected, actual) == []


def read_yaml(model_yaml: Path, scenario: str | None = None, **init):
    import calliope

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calliope.read_yaml(model_yaml, scenario=scenario, **init)
