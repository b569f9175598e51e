"""Names that become Calliope keys (locations, carriers, techs, links), and colours: one check each.

Names: what Calliope 0.7 accepts, in planner words.

Calliope 0.7 validates the keys of `nodes:`, `techs:` and its data definitions with
`calliope.schemas.general.AttrStr`, the pattern `^[^_^\\d][\\w]*$`: a first character that is not
an underscore or a digit, then letters, digits and underscores only. Those names are also the
labels of its data tables and of the `where` strings of its math, where a space, ":" or "." would
be read as syntax (":" is not a word character, "." splits YAML key paths in overrides such as
`nodes.region1.techs...`). We take the safe core of that pattern: a letter first (any
alphabet, so "Zürich" is fine), then letters, digits and underscores; that is a strict subset of
what Calliope accepts, so every name Engage stores loads in Calliope.
"""

from __future__ import annotations

import re

from engage_reflex.services.errors import EngageError

NAME_MAX = 100
_NAME = re.compile(r"[^\W\d_]\w*")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def check_calliope_name(raw: object, *, what: str) -> str:
    """The name as Calliope will use it, or EngageError saying what is wrong (what: "location")."""
    name = "" if raw is None else str(raw)
    if not name.strip():
        raise EngageError(f"Give the {what} a name.")
    if name != name.strip():
        raise EngageError(f"The {what} name “{name}” starts or ends with a space; remove it.")
    if len(name) > NAME_MAX:
        raise EngageError(f"The {what} name “{name[:30]}…” is {len(name)} characters long; "
                          f"keep it to {NAME_MAX}.")
    if not _NAME.fullmatch(name):
        suggestion = re.sub(r"\W+", "_", name).strip("_")
        if suggestion and not _NAME.match(suggestion):
            suggestion = f"{what[0]}_{suggestion}"
        hint = f" For example “{suggestion}”." if suggestion and _NAME.fullmatch(suggestion) else ""
        raise EngageError(
            f"The {what} name “{name}” cannot be used: Calliope needs names that start with a letter and "
            f"contain only letters, digits and underscores (no spaces, “:”, “.” or “-”).{hint}"
        )
    return name


def check_color(raw: object) -> str:
    """A colour as #rrggbb (lower case), or "" when none is given."""
    text = "" if raw is None else str(raw).strip()
    if text and not _COLOR.fullmatch(text):
        raise EngageError(f"“{text}” is not a colour: use the form #rrggbb, e.g. #1f77b4.")
    return text.lower()


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """"1 node", "3 nodes", "2 nodes and links" (plural_form when adding "s" is wrong)."""
    return f"{n} {word}" if n == 1 else f"{n} {plural_form or word + 's'}"
