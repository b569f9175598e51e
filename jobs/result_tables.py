"""The result tables the results page's newer figures read, written next to model.nc at solve time.

calliope_runner.write_results writes model.nc and the first tables (capacity, flows, costs,
techs); `write_tables` adds these small tidy CSVs. Runs solved before a table existed lack its
file; the page says so for that figure instead of failing.

- storage.csv: timestep, node, tech, value -- the storage level (Calliope's `storage`)
- links.csv: tech, name, from_node, to_node, carrier, capacity, sent, returned -- per transmission
  link: its capacity, the energy that arrived at `to_node` from `from_node` (sent) and back (returned)
- capacity_factors.csv: node, tech, carrier, value -- node "" is Calliope's systemwide value
- levelised_costs.csv: tech, carrier, cost_class, value -- tech "" is the carrier's total (all techs)
- nodes.csv: node, latitude, longitude
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engage_reflex.schemas.results import RESULT_TABLES

TABLE_FILES = {kind: spec[0] for kind, spec in RESULT_TABLES.items()}
COLUMNS = {kind: spec[1] for kind, spec in RESULT_TABLES.items()}
_DIMS = {"nodes": "node", "techs": "tech", "carriers": "carrier", "costs": "cost_class", "timesteps": "timestep"}


def write_tables(model, directory: Path) -> None:
    """Write every table of TABLE_FILES into `directory`."""
    for kind, build in (("storage", storage_table), ("links", links_table),
                        ("capacity_factors", capacity_factors_table), ("levelised_costs", levelised_costs_table),
                        ("nodes", nodes_table)):
        build(model).reindex(columns=COLUMNS[kind]).to_csv(directory / TABLE_FILES[kind], index=False)


def _tidy(da) -> pd.DataFrame:
    return da.to_series().dropna().reset_index().rename(columns={**_DIMS, da.name: "value"})


def _weights(model):
    inputs = model.inputs
    return inputs["timestep_weights"].fillna(1.0) if "timestep_weights" in inputs.data_vars else 1.0


def _var(model, name: str):
    return model.results[name] if name in model.results.data_vars else None


def storage_table(model) -> pd.DataFrame:
    """Storage level per timestep of every tech that has storage capacity somewhere."""
    storage, cap = _var(model, "storage"), _var(model, "storage_cap")
    if storage is None or cap is None:
        return pd.DataFrame(columns=COLUMNS["storage"])
    built = _tidy(cap)
    built = built[built["value"].abs() > 1e-9][["node", "tech"]]
    frame = _tidy(storage).merge(built, on=["node", "tech"])
    frame["value"] = frame["value"].clip(lower=0.0)
    return frame[COLUMNS["storage"]]


def links_table(model) -> pd.DataFrame:
    inputs = model.inputs
    if "link_from" not in inputs.data_vars or "link_to" not in inputs.data_vars:
        return pd.DataFrame(columns=COLUMNS["links"])
    ends = pd.DataFrame({"from_node": inputs["link_from"].to_series(),
                         "to_node": inputs["link_to"].to_series()}).dropna()
    names = inputs["name"].to_series() if "name" in inputs.data_vars else pd.Series(dtype=str)
    cap, flow_out = _var(model, "flow_cap"), _var(model, "flow_out")
    rows = []
    for tech, (start, end) in ends.iterrows():
        carriers = [str(c) for c in model.inputs.coords["carriers"].values]
        for carrier in carriers:
            capacity = sent = returned = 0.0
            if cap is not None and tech in cap.coords["techs"].values:
                capacity = float(cap.sel(techs=tech, carriers=carrier).fillna(0).max())
            if flow_out is not None and tech in flow_out.coords["techs"].values:
                # Weighted: in a clustered run each representative step stands for several.
                out = (flow_out.sel(techs=tech, carriers=carrier).fillna(0) * _weights(model)).sum("timesteps")
                sent, returned = float(out.sel(nodes=end)), float(out.sel(nodes=start))
            if capacity > 1e-9 or sent > 1e-9 or returned > 1e-9:
                name = names.get(tech)
                rows.append((str(tech), str(name) if isinstance(name, str) and name else str(tech), str(start),
                             str(end), carrier, capacity, sent, returned))
    return pd.DataFrame(rows, columns=COLUMNS["links"])


def capacity_factors_table(model) -> pd.DataFrame:
    """Mean capacity factor over the run per node, tech and carrier (weighted as Calliope's
    systemwide one), plus Calliope's own systemwide values under node ""."""
    flow_out, cap = _var(model, "flow_out"), _var(model, "flow_cap")
    frames = []
    if flow_out is not None and cap is not None:
        inputs = model.inputs
        weights = _weights(model)
        hours = inputs["timestep_resolution"] if "timestep_resolution" in inputs.data_vars else 1.0
        produced = (flow_out.fillna(0) * weights).sum("timesteps")
        available = cap.where(cap > 1e-9) * float((hours * weights).sum()) if not isinstance(hours, float) \
            else cap.where(cap > 1e-9) * flow_out.sizes["timesteps"]
        factor = (produced / available).rename("value")
        frames.append(_tidy(factor))
    systemwide = _var(model, "systemwide_capacity_factor")
    if systemwide is not None:
        frames.append(_tidy(systemwide).assign(node=""))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS["capacity_factors"])
    return frame.reindex(columns=COLUMNS["capacity_factors"])


def levelised_costs_table(model) -> pd.DataFrame:
    frames = []
    per_tech = _var(model, "systemwide_levelised_cost")
    if per_tech is not None:
        frames.append(_tidy(per_tech))
    total = _var(model, "total_levelised_cost")
    if total is not None:
        frames.append(_tidy(total).assign(tech=""))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS["levelised_costs"])
    return frame.reindex(columns=COLUMNS["levelised_costs"])


def nodes_table(model) -> pd.DataFrame:
    inputs = model.inputs
    if "latitude" not in inputs.data_vars or "longitude" not in inputs.data_vars:
        return pd.DataFrame(columns=COLUMNS["nodes"])
    frame = pd.DataFrame({"latitude": inputs["latitude"].to_series(), "longitude": inputs["longitude"].to_series()})
    frame = frame.dropna().rename_axis("node").reset_index()
    frame["node"] = frame["node"].astype(str)
    return frame[COLUMNS["nodes"]]
