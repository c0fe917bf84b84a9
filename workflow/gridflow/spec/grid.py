"""Expand a grid of hyperparameter values into cells, and name each cell.

Pure Python: safe to import while Snakemake parses the workflow.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence

AXIS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PART_SEPARATOR = "/"
VALUE_SEPARATOR = "~"

Value = bool | int | float | str


def canonical_value(value: object) -> Value:
    """Return the one representative of a grid value.

    Numbers that are equal are the same value: 0.3, 0.30 and 3e-1 give 0.3, and
    a whole float such as 32.0 becomes the int 32 (huge ones such as 1e30 stay
    floats, so they keep a short name).

    Raises
    ------
    ValueError
        If the value is not a finite number, a boolean or a plain identifier.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, str) and IDENTIFIER.match(value):
        return value
    raise ValueError("values must be numbers, booleans or plain identifiers (letters, digits, _)")


def format_value(value: object) -> str:
    """Format a grid value canonically for paths and tables (e.g. 0.3, 32, 1e-05, relu)."""
    value = canonical_value(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def cell_id(values: Mapping[str, object]) -> str:
    """The id (and relative folder) of the cell with these axis values.

    Parts are ``axis~value`` sorted by axis name and joined by ``/``, e.g.
    ``activation~relu/batch_size~4/dropout~0.3``.
    """
    return PART_SEPARATOR.join(f"{axis}{VALUE_SEPARATOR}{format_value(values[axis])}" for axis in sorted(values))


def join_cell_id(parts: Mapping[str, str]) -> str:
    """The id of a cell from its axes' formatted values (``parse_cell_id``'s output, changed or not)."""
    return PART_SEPARATOR.join(f"{axis}{VALUE_SEPARATOR}{parts[axis]}" for axis in sorted(parts))


def parse_cell_id(cell: str) -> dict[str, str]:
    """Axis -> formatted value of a cell id: the inverse of ``cell_id`` up to formatting."""
    return dict(part.split(VALUE_SEPARATOR, 1) for part in cell.split(PART_SEPARATOR))


def cell_id_pattern() -> str:
    """Regular expression that matches every id ``cell_id`` can produce."""
    part = r"[A-Za-z_][A-Za-z0-9_]*~[A-Za-z0-9_.+-]+"
    return rf"{part}(/{part})*"


def expand_grid(grid: Mapping[str, Sequence[object]]) -> list[dict[str, Value]]:
    """All cells of the grid: the product of the axes, axes sorted by name.

    Values keep the order given in the config, so the result is deterministic.
    """
    axes = sorted(grid)
    values = [[canonical_value(v) for v in grid[axis]] for axis in axes]
    return [dict(zip(axes, combo)) for combo in itertools.product(*values)]


def cells_by_id(grid: Mapping[str, Sequence[object]]) -> dict[str, dict[str, Value]]:
    """Map each cell id of the grid to its axis values, in grid order."""
    return {cell_id(values): values for values in expand_grid(grid)}


def axis_pairs(grid: Mapping[str, Sequence[object]]) -> list[tuple[str, str]]:
    """Every unordered pair of axes (sorted), one heatmap each."""
    return list(itertools.combinations(sorted(grid), 2))
