"""What the solve job keeps of a solved model besides its NetCDF: the size of the problem it built
(for the next runs' estimates) and every result as a tidy CSV in one zip with a README.txt.

Knows Calliope's objects (`model.backend`, `model.results`, `model.math`), not the database.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path

import pandas as pd

LOGGER = logging.getLogger(__name__)
OUTPUTS_ZIP = "outputs.zip"
# Calliope's dimension names, as a planner reads a column heading.
COLUMN_NAMES = {"nodes": "node", "techs": "tech", "carriers": "carrier", "costs": "cost_class",
                "timesteps": "timestep", "datesteps": "date", "clusters": "cluster", "windowsteps": "window",
                "spores": "spore"}
UNIT_WORDS = {"power": "power (the model's power unit, e.g. kW)",
              "energy": "energy per time step (the model's energy unit, e.g. kWh)",
              "area": "area (the model's area unit, e.g. m²)", "fraction": "fraction (0 to 1)",
              "cost": "the cost class's own unit (e.g. the currency for monetary, kg or t for co2)"}


def problem_size(model) -> dict[str, int]:
    """Time steps, variables and constraints of the built problem (entries that exist, not the
    full index products)."""
    backend = model.backend
    variables = sum(int(backend.variables[name].notnull().sum()) for name in backend.variables.data_vars)
    constraints = sum(int(backend.constraints[name].notnull().sum()) for name in backend.constraints.data_vars)
    return {"timesteps": int(model.inputs.sizes.get("timesteps", 0)), "variables": variables,
            "constraints": constraints}


def write_outputs_zip(model, results_dir: Path) -> str:
    """outputs.zip in `results_dir`: one CSV per result (long format: one column per dimension,
    then `value`) and README.txt naming each file's columns, meaning and unit. Returns its name."""
    target = results_dir / OUTPUTS_ZIP
    partial = target.with_name(OUTPUTS_ZIP + ".partial")
    math = _math_entries(model)
    readme = [_README_HEAD]
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(model.results.data_vars):
            array = model.results[name]
            frame = array.to_series().dropna().reset_index() if array.ndim else pd.DataFrame({"value": [array.item()]})
            frame = frame.rename(columns={**COLUMN_NAMES, name: "value"})
            if frame.empty:
                continue
            with archive.open(f"{name}.csv", "w") as member, io.TextIOWrapper(member, encoding="utf-8",
                                                                              newline="") as text:
                frame.to_csv(text, index=False)
            entry = math.get(name, {})
            readme.append(_readme_entry(name, list(frame.columns), entry, len(frame)))
        archive.writestr("README.txt", "\n".join(readme))
    partial.replace(target)
    return OUTPUTS_ZIP


_README_HEAD = """Results of one Engage run, as tidy CSV files (one per result of Calliope 0.7).

Each file has one column per dimension (node, tech, carrier, cost_class, timestep, ...) and a
last column `value`. Empty combinations (e.g. a tech not at a node) are left out. Units are the
model's own: whatever units its inputs were given in (Engage's default is kW, kWh and the cost
class's currency). The same numbers are in the run's NetCDF file (calliope.read_netcdf opens it).
"""


def _readme_entry(name: str, columns: list[str], entry: dict, rows: int) -> str:
    title = _plain(entry.get("title") or "") or name.replace("_", " ")
    lines = [f"{name}.csv — {title} ({rows:,} rows)", f"  columns: {', '.join(columns)}"]
    unit = _plain(entry.get("unit") or "")
    if unit:
        lines.append(f"  unit of value: {UNIT_WORDS.get(unit, unit)}")
    description = _plain(entry.get("description") or "")
    if description:
        lines.append(f"  {description}")
    return "\n".join(lines) + "\n"


def _math_entries(model) -> dict[str, dict]:
    """Titles, descriptions and units of variables, expressions and post-processed results."""
    try:
        math = model.math.build.model_dump()
    except Exception:  # an older or custom math: the README then names files and columns only
        LOGGER.warning("could not read the math's descriptions", exc_info=True)
        return {}
    entries: dict[str, dict] = {}
    for section in ("parameters", "variables", "global_expressions", "objectives", "postprocessed"):
        for key, value in (math.get(section) or {}).items():
            if isinstance(value, dict):
                entries.setdefault(key, value)
    return entries


def _plain(text: str) -> str:
    r"""`$\frac{\text{cost}}{\text{hour}}$` -> `cost/hour`: Calliope's units are written for LaTeX."""
    text = str(text).replace("\n", " ").strip()
    text = re.sub(r"\\frac\{(.*?)\}\{(.*?)\}", r"\1/\2", text)
    text = re.sub(r"\\text\{(.*?)\}", r"\1", text)
    text = text.replace("$", "").replace("\\times", "×").replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text)
