import numpy as np
import pytest
from sklearn import metrics

from gridflow.scoring import score


def test_perfect_binary_predictions():
    y = np.array([0, 1, 1, 0])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9], [0.7, 0.3]])
    result = score(y, probs)
    assert result["accuracy"] == result["f1"] == result["roc_auc"] == 1.0
    assert result["loss"] == pytest.approx(metrics.log_loss(y, probs))


def test_multiclass_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    probs = rng.dirichlet([1, 1, 1], 60)
    result = score(y, probs)
    assert result["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, probs, multi_class="ovr"))
    assert result["f1"] == pytest.approx(metrics.f1_score(y, probs.argmax(1), average="macro"))
    assert result["precision"] == pytest.approx(metrics.precision_score(y, probs.argmax(1), average="macro"))
    assert result["recall"] == pytest.approx(metrics.recall_score(y, probs.argmax(1), average="macro"))


def test_roc_auc_is_nan_when_a_class_is_absent():
    result = score(np.array([0, 0]), np.array([[0.6, 0.4], [0.4, 0.6]]))
    assert np.isnan(result["roc_auc"]) and result["accuracy"] == 0.5
