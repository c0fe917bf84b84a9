"""The split scores of the summary as the statistics need them: per fold, and only where every split is there."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridflow.results.grammar import OK


def fold_means(scores: np.ndarray, folds: int | None) -> np.ndarray:
    """Split scores ``[..., K]`` (k = repetition x folds + fold) averaged over the repetitions: ``[..., folds]``.

    Repetitions reuse the same folds (only the models' seeds differ), so the folds, not the K splits, are the
    independent resamples: more repetitions make a fold's score more precise, not the folds more numerous.
    ``folds`` None: every split is a fold of its own (one repetition).
    """
    k = scores.shape[-1]
    folds = k if folds is None else folds
    if folds < 1 or k % folds:
        raise ValueError(f"{k} split columns are not repetitions x {folds} folds")
    return scores.reshape(*scores.shape[:-1], k // folds, folds).mean(axis=-2)


def usable_rows(table: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Rows that are ok and scored on every split: an ok row with a missing split cannot share the splits."""
    scores = table[list(columns)].to_numpy(dtype=float)
    return (table["status"] == OK).to_numpy() & np.isfinite(scores).all(axis=1)
