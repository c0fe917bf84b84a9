import numpy as np
import pytest
from sklearn import metrics

from gridflow.results.scoring import score


def scikit_learn(y, probs):
    """The same metrics computed by scikit-learn's own functions."""
    n_classes = probs.shape[1]
    labels = list(range(n_classes))
    probs = np.clip(probs, 1e-7, 1.0)
    probs = probs / probs.sum(axis=1, keepdims=True)
    predicted = probs.argmax(1)
    averaged = {"labels": labels, "average": "macro", "zero_division": 0}
    auc = (
        metrics.roc_auc_score(y, probs[:, 1])
        if n_classes == 2
        else metrics.roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=labels)
    )
    return {
        "accuracy": metrics.accuracy_score(y, predicted),
        "loss": metrics.log_loss(y, probs, labels=labels),
        "roc_auc": auc,
        "f1": metrics.f1_score(y, predicted, **averaged),
        "precision": metrics.precision_score(y, predicted, **averaged),
        "recall": metrics.recall_score(y, predicted, **averaged),
    }


def test_perfect_binary_predictions():
    y = np.array([0, 1, 1, 0])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9], [0.7, 0.3]])
    result = score(y, probs)
    assert result["accuracy"] == result["f1"] == result["roc_auc"] == 1.0
    assert result["loss"] == pytest.approx(metrics.log_loss(y, probs))


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_metric_equals_scikit_learns(n_classes, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, 80)
    y[:n_classes] = np.arange(n_classes)  # every class present
    probs = rng.dirichlet(np.ones(n_classes), 80)
    probs[:10] = probs[10:20]  # tied scores, as a saturated model gives
    probs[20, :] = 0.0  # a row of zeros: clipped, then renormalised
    probs[21] = np.eye(n_classes)[0]  # a certain prediction
    ours, theirs = score(y, probs), scikit_learn(y, probs)
    for metric, value in theirs.items():
        assert ours[metric] == pytest.approx(value, rel=1e-12, abs=1e-12), metric


def test_a_class_never_predicted_scores_zero_like_scikit_learn():
    y = np.array([0, 1, 2, 2, 1, 0])
    probs = np.tile([0.6, 0.3, 0.1], (6, 1))  # always class 0
    ours, theirs = score(y, probs), scikit_learn(y, probs)
    for metric in ("f1", "precision", "recall", "accuracy", "loss"):
        assert ours[metric] == pytest.approx(theirs[metric], rel=1e-12), metric


def test_roc_auc_is_nan_when_a_class_is_absent():
    result = score(np.array([0, 0]), np.array([[0.6, 0.4], [0.4, 0.6]]))
    assert np.isnan(result["roc_auc"]) and result["accuracy"] == 0.5
