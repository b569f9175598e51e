"""How numbers read on the pages."""


def number(value: float | None) -> str:
    """Costs and capacities as a planner reads them: 102,147 or 699.7 or 0.0123 ("" for none)."""
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
