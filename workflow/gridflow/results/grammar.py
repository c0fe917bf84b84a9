"""The summary's column names, in scikit-learn's ``cv_results_`` grammar, spelled here only; and its one reader.

As in ``pd.DataFrame(GridSearchCV(...).cv_results_)`` with one scorer per
metric: ``params``, ``param_<axis>``, ``split<k>_test_<metric>`` (k =
repetition x folds + fold), ``mean_test_<metric>``, ``std_test_<metric>``,
``rank_test_<metric>``, ``mean_fit_time`` and ``std_fit_time``, where "test"
is the cross-validation fold held out of each model. The test part of the
split, never used to choose, is ``mean_holdout_<metric>`` and
``std_holdout_<metric>``. gridflow adds ``cell``, ``status``, ``error``,
``n_params``, timing columns and the comparison with the best cell
(``p_vs_best``, ``tied_with_best``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from gridflow.spec.search import without_budget

# Where a score was measured: "test" is the held-out CV fold (scikit-learn's word), "holdout" the test part.
CV = "test"
HOLDOUT = "holdout"
PARAM_PREFIX = "param_"
OK = "ok"


def param_column(axis: str) -> str:
    """The column of an axis's value."""
    return f"{PARAM_PREFIX}{axis}"


def axis_of(column: str) -> str:
    """The axis a ``param_<axis>`` column holds."""
    return column.removeprefix(PARAM_PREFIX)


def param_columns(table: pd.DataFrame) -> list[str]:
    """The ``param_<axis>`` columns of a table, in its order."""
    return [c for c in table.columns if str(c).startswith(PARAM_PREFIX)]


def split_column(k: int, metric: str) -> str:
    """The score of split k (repetition x folds + fold) on its held-out fold."""
    return f"split{k}_{CV}_{metric}"


def mean_column(metric: str, part: str = CV) -> str:
    """The mean of ``metric`` over the CV splits (``part`` test) or the holdout models (``part`` holdout)."""
    return f"mean_{part}_{metric}"


def std_column(metric: str, part: str = CV) -> str:
    """The standard deviation (ddof 0, as scikit-learn) beside ``mean_column``."""
    return f"std_{part}_{metric}"


def rank_column(metric: str) -> str:
    """The column that ranks cells by ``metric`` (1 = best)."""
    return f"rank_{CV}_{metric}"


def split_columns(table: pd.DataFrame, metric: str) -> list[str]:
    """The ``split<k>_test_<metric>`` columns of ``table``, in order of k (numerically: split10 after split9)."""
    pattern = re.compile(rf"^split(\d+)_{CV}_{re.escape(metric)}$")
    found = [(int(m.group(1)), c) for c in table.columns if (m := pattern.match(str(c)))]
    return [c for _, c in sorted(found)]


def read_summary(path: str | Path) -> pd.DataFrame:
    """Read summary.csv as written: only an empty field is missing (a value such as "None" or "NA" stays text).

    pandas reads each column into a block of its own; one copy joins them, so that adding a column to the
    table later is cheap and warns of no fragmentation.
    """
    return pd.read_csv(path, keep_default_na=False, na_values=[""]).copy()


def tied_cells(table: pd.DataFrame) -> pd.Series:
    """Which rows are tied with the best; an untestable row (one validation part: empty in the CSV) is not."""
    return table["tied_with_best"].eq(True)


def tie_tested(table: pd.DataFrame) -> bool:
    """Whether the t-test compared any cell with the best (not with one validation part, or one ok cell)."""
    return bool(table["p_vs_best"].notna().sum() > 1)


def grid_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the complete grid, named as the grid names its cells: every row, or for a halving search its
    round 0, where every cell trained for the same epochs (later rounds hold only the best, for longer)."""
    if "iter" not in table:
        return table
    return table[table["iter"] == 0].assign(cell=lambda rows: rows["cell"].map(without_budget))
