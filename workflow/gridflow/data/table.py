"""A file's feature columns as one float32 matrix: numbers as they are, text and yes/no as category codes.

Gaps stay NaN, in numeric and categorical columns alike: what fills them is
fitted later on each model's own training samples (gridflow.data.encode), or
left to the user's transformer (gridflow.data.transformer). Column types are
taken as the file gives them, so a Parquet file's types hold as written.
No TensorFlow.
"""

from __future__ import annotations

import numpy as np

from gridflow.errors import ConfigError

# A categorical column with more distinct values than this is refused by the built-in one-hot encoding.
MAX_CATEGORIES = 1000


def table_features(table, *, what: str) -> tuple[np.ndarray, list[str], dict[str, list[str]]]:
    """(float32 matrix, column names, categorical column -> its categories) of a feature table.

    A categorical column (text, pandas categories, booleans with gaps) holds
    codes indexing its categories (sorted text); a True/False column without
    gaps is the number 0/1, as it always was. ``what`` names the file in errors.

    Raises
    ------
    ConfigError
        If the table has a column without any value, or a column
        that is neither numbers, text, categories nor booleans (dates, say).
    """
    import pandas as pd

    empty = [str(c) for c in table.columns if table[c].isna().all()]
    if empty:
        raise ConfigError(
            f"{what}: feature column '{empty[0]}' has no values; allowed: columns with values (drop it from the file)"
        )
    matrix = np.empty(table.shape, dtype=np.float32)
    categories = {}
    for j, name in enumerate(table.columns):
        column = table[name]
        if pd.api.types.is_numeric_dtype(column):  # booleans too: 0/1
            matrix[:, j] = column.to_numpy(dtype=np.float32, na_value=np.nan)
        elif _is_categorical(column):
            matrix[:, j], categories[str(name)] = _codes(column)
        else:
            raise ConfigError(
                f"{what}: feature column '{name}' is of type {column.dtype}; allowed: numbers, text, categories or "
                "yes/no (convert it, or drop it from the file)"
            )
    return matrix, [str(c) for c in table.columns], categories


def _is_categorical(column) -> bool:
    import pandas as pd

    types = pd.api.types
    return (
        types.is_bool_dtype(column)
        or types.is_string_dtype(column)
        or types.is_object_dtype(column)
        or isinstance(column.dtype, pd.CategoricalDtype)
    )


def _codes(column) -> tuple[np.ndarray, list[str]]:
    """Each row's category code (NaN for a gap) and the categories, as text, sorted."""
    present = column.notna().to_numpy()
    text = column[present].astype(str).to_numpy()
    names, codes = np.unique(text, return_inverse=True)
    out = np.full(len(column), np.nan, dtype=np.float32)
    out[present] = codes
    return out, [str(n) for n in names]
