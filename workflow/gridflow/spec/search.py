"""How the grid is searched: every cell (``grid``), a random sample of it (``random``), or successive halving of
the training budget over it (``halving``). Pure Python: runs while Snakemake parses.

Successive halving follows scikit-learn's ``HalvingGridSearchCV`` with the
epochs as the resource: round 0 trains every cell for ``min_epochs``; each
round keeps the best ``ceil(n / factor)`` cells by mean CV score and trains
them ``factor`` times longer, up to ``max_epochs``; there are as many rounds
as both the budget (``1 + log_factor(max_epochs // min_epochs)``) and the
cells (``1 + log_factor(n_cells)``) allow. Unlike scikit-learn, a surviving
cell goes on from its kept state instead of training again from epoch 0.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

from gridflow.errors import ConfigError
from gridflow.spec import grid as gridlib

BUDGET_AXIS = "epochs"


def sampled_cells(cells: Mapping[str, dict], n_cells: int, seed: int) -> dict[str, dict]:
    """A random sample of ``n_cells`` cells, in grid order, that nests and keeps what it can.

    Each cell draws a number from its id and ``seed`` alone (a permanent random number), and the sample is the
    ``n_cells`` smallest: a larger ``n_cells`` keeps every cell of a smaller one, and a value added to an axis
    keeps every earlier cell whose number is still among the smallest (no sampler that stays uniform keeps more).
    """
    draw = {cell: hashlib.sha256(f"{seed}:{cell}".encode()).hexdigest() for cell in cells}
    chosen = set(sorted(cells, key=lambda cell: (draw[cell], cell))[:n_cells])
    return {cell: values for cell, values in cells.items() if cell in chosen}


def halving_budgets(n_cells: int, *, factor: int, min_epochs: int, max_epochs: int) -> list[int]:
    """The epochs of each round: ``min_epochs x factor**r``, for as many rounds as the budget and the cells allow."""
    rounds_by_budget = _rounds_below(max_epochs // min_epochs, factor)
    rounds_by_cells = _rounds_below(n_cells, factor)
    return [min_epochs * factor**r for r in range(min(rounds_by_budget, rounds_by_cells))]


def _rounds_below(ratio: int, factor: int) -> int:
    """1 + floor(log_factor(ratio)), in whole numbers (a float log can land just under a whole power)."""
    rounds = 1
    while factor**rounds <= ratio:
        rounds += 1
    return rounds


def kept_cells(n_cells: int, factor: int) -> int:
    """How many cells a round passes on to the next: ``ceil(n / factor)``, as scikit-learn keeps."""
    return math.ceil(n_cells / factor)


def with_budget(cell: str, epochs: int) -> str:
    """The id of ``cell`` trained for ``epochs`` (its values and the budget axis)."""
    return gridlib.join_cell_id({**gridlib.parse_cell_id(cell), BUDGET_AXIS: gridlib.format_value(epochs)})


def without_budget(cell: str) -> str:
    """The id of a cell without its budget axis: the grid cell it is a round of."""
    return gridlib.join_cell_id({k: v for k, v in gridlib.parse_cell_id(cell).items() if k != BUDGET_AXIS})


def check_search(config: Mapping) -> None:
    """Rules of ``search`` the schema cannot say in one line.

    Raises
    ------
    ConfigError
        A random search without ``n_cells``; a halving search without its budget, with ``min_epochs`` above
        ``max_epochs``, or over a grid that has an epochs axis of its own.
    """
    search = config["search"]
    if search["strategy"] == "random" and search["n_cells"] is None:
        raise ConfigError(
            "config key 'search.n_cells' has value null; with search.strategy random, allowed: a whole number >= 1"
        )
    if search["strategy"] != "halving":
        return
    for key in ("min_epochs", "max_epochs"):
        if search[key] is None:
            raise ConfigError(
                f"config key 'search.{key}' has value null; with search.strategy halving, allowed: a whole number >= 1"
            )
    if search["min_epochs"] > search["max_epochs"]:
        raise ConfigError(
            f"config key 'search.min_epochs' has value {search['min_epochs']}; allowed: at most search.max_epochs "
            f"({search['max_epochs']})"
        )
    if BUDGET_AXIS in config["grid"]:
        raise ConfigError(
            f"config key 'grid.{BUDGET_AXIS}' is an axis; with search.strategy halving the epochs are the budget it "
            "halves over (search.min_epochs to search.max_epochs); allowed: no epochs axis"
        )
