"""A tiny two-location Calliope model in memory, for proving that group constraints bind.

One day, hourly. Location A has pv, gas, a battery and a demand; location B has pv, wind, a battery and a
demand. Left alone the optimum builds lots of cheap pv with batteries and burns some gas at night; each
group constraint test pushes it away from that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engage_reflex.services.group_constraints import ModelVocabulary

HOURS = 24


def _cost(monetary: float, co2: float | None = None) -> dict:
    if co2 is None:
        return {"data": monetary, "index": "monetary", "dims": "costs"}
    return {"data": [monetary, co2], "index": ["monetary", "co2"], "dims": "costs"}


def timeseries() -> pd.DataFrame:
    steps = pd.date_range("2005-07-01", periods=HOURS, freq="h")
    hour = steps.hour.to_numpy()
    sun = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    df = pd.DataFrame(
        {("pv", "A", "source_use_max"): sun,
         ("pv", "B", "source_use_max"): 0.8 * sun,
         ("wind", "B", "source_use_max"): 0.35 + 0.15 * np.cos(hour / 24 * 2 * np.pi),
         ("demand_power", "A", "sink_use_equals"): 6 + 2 * np.cos((hour - 19) / 24 * 2 * np.pi),
         ("demand_power", "B", "sink_use_equals"): 4 + 1 * np.cos((hour - 19) / 24 * 2 * np.pi)},
        index=pd.Index(steps, name="timesteps")).round(6)  # the HiGHS backend refuses |coefficients| < 1e-12
    df.columns.names = ["techs", "nodes", "inputs"]
    return df


def definition() -> dict:
    """A fresh definition (callers change it in place); its timeseries is the data table "ts_df"."""
    return {
        "config": {"init": {"name": "group constraint test"},
                   "build": {"ensure_feasibility": False, "backend": "highs"}},
        "data_definitions": {
            "objective_cost_weights": {"data": [1, 0], "index": ["monetary", "co2"], "dims": "costs"},
        },
        "data_tables": {"ts": {"table": "ts_df", "rows": "timesteps", "columns": ["techs", "nodes", "inputs"]}},
        "techs": {
            "pv": {"base_tech": "supply", "carrier_out": "power", "source_unit": "per_cap",
                   "flow_cap_max": 200, "lifetime": 25, "cost_flow_cap": _cost(600)},
            "wind": {"base_tech": "supply", "carrier_out": "power", "source_unit": "per_cap",
                     "flow_cap_max": 200, "lifetime": 25, "cost_flow_cap": _cost(1500)},
            "gas": {"base_tech": "supply", "carrier_out": "power", "flow_cap_max": 200, "lifetime": 25,
                    "cost_flow_cap": _cost(500), "cost_flow_out": _cost(0.02, co2=0.5)},
            "battery": {"base_tech": "storage", "carrier_in": "power", "carrier_out": "power",
                        "flow_cap_max": 100, "storage_cap_max": 1000, "flow_in_eff": 0.95, "flow_out_eff": 0.95,
                        "lifetime": 15, "cost_storage_cap": _cost(1500), "cost_flow_cap": _cost(100)},
            "demand_power": {"base_tech": "demand", "carrier_in": "power"},
        },
        "nodes": {
            "A": {"techs": {"pv": None, "gas": None, "battery": None, "demand_power": None}},
            "B": {"techs": {"pv": None, "wind": None, "battery": None, "demand_power": None}},
        },
    }


def vocabulary() -> ModelVocabulary:
    """What the tiny model has, plus a heat carrier (a boiler, a heat demand), a link and names its math cannot read."""
    return ModelVocabulary(
        techs={"pv": "supply", "wind": "supply", "gas": "supply", "battery": "storage",
               "demand_power": "demand", "boiler": "conversion", "demand_heat": "demand",
               "a_to_b": "transmission", "Windpark_Zürich": "supply", "inf": "supply"},
        tech_carriers_out={"pv": ["power"], "wind": ["power"], "gas": ["power"], "battery": ["power"],
                           "boiler": ["heat"], "a_to_b": ["power"], "Windpark_Zürich": ["power"],
                           "inf": ["power"]},
        tech_carriers_in={"battery": ["power"], "demand_power": ["power"], "boiler": ["methane"],
                          "demand_heat": ["heat"], "a_to_b": ["power"]},
        locations=["A", "B", "Zürich"],
        carriers=["power", "heat", "methane"],
        cost_classes=["monetary", "co2"],
    )
