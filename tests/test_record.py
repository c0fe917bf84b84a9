"""A cell's files: metrics.json and models.npz, written and read back by gridflow.results, compact."""

import json

import numpy as np
import pytest
from records import HISTORY_KEYS, cell_record, model_record

from gridflow.results.arrays import cell_arrays, read_arrays, write_arrays
from gridflow.results.record import RECORD_FORMAT, arrays_path, read_record, write_record


def default_cell(rng):
    """A cell shaped like the default grid's: 3 repetitions x (5 folds + the test model), 20 epochs, two classes,
    91 or 92 rows per fold and 114 in the test part; probabilities as a softmax gives them."""
    models, outputs, histories = [], [], []
    for repetition in range(3):
        for fold, rows in enumerate([91, 91, 91, 91, 91, 114]):
            role = "test" if fold == 5 else "cv"
            models.append(model_record(role, repetition=repetition, fold=fold, n_eval=rows, epochs_run=20,
                                       n_train=364 if role == "cv" else 455))  # fmt: skip
            logits = rng.normal(size=(rows, 2)).astype(np.float32)
            outputs.append(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
            histories.append({key: rng.uniform(size=20).tolist() for key in HISTORY_KEYS})
    values = {"activation": "relu", "batch_size": 4, "dropout": 0.3, "hidden_units": 32, "learning_rate": 0.01}
    settings = {"gridflow": 1, "training": {"epochs": 20, "repetitions": 3, "cv_folds": 5, "optimizer": "sgd"}}
    record = cell_record(values, models, settings=settings, timing={"fit_seconds": 1.0, "loop_source": "memory"})
    return record, cell_arrays(outputs, histories, history_keys=HISTORY_KEYS)


def test_a_cell_reads_back_as_written(tmp_path):
    record, arrays = default_cell(np.random.default_rng(0))
    path = tmp_path / "metrics.json"
    write_arrays(arrays, arrays_path(path))
    write_record(record, path)
    assert read_record(path) == record
    back = read_arrays(arrays_path(path))
    assert back.history_keys == arrays.history_keys
    np.testing.assert_array_equal(back.history, arrays.history)
    assert len(back.outputs) == 18 and all(np.array_equal(a, b) for a, b in zip(back.outputs, arrays.outputs))
    assert back.outputs[0].dtype == np.float32  # kept exact, as trained
    np.testing.assert_array_equal(back.predictions(5), arrays.outputs[5].astype(np.float64))  # classification


def test_a_default_cells_files_take_at_most_25_kb(tmp_path):
    """They took 58 kB: per-epoch curves as 17-digit JSON numbers, and no predictions at all."""
    record, arrays = default_cell(np.random.default_rng(1))
    path = tmp_path / "metrics.json"
    write_arrays(arrays, arrays_path(path))
    write_record(record, path)
    assert path.stat().st_size + arrays_path(path).stat().st_size <= 25_000


def test_a_regression_cells_predictions_come_back_in_the_labels_units(tmp_path):
    arrays = cell_arrays([np.array([[0.5], [-1.0]], np.float32)], [{}], history_keys=("loss",), label_center=[100.0],
                         label_scale=[20.0])  # fmt: skip
    write_arrays(arrays, tmp_path / "models.npz")
    assert read_arrays(tmp_path / "models.npz").predictions(0).ravel().tolist() == [110.0, 80.0]


def test_a_record_of_another_format_is_refused_not_guessed(tmp_path):
    record, _ = default_cell(np.random.default_rng(2))
    path = tmp_path / "metrics.json"
    write_record(record, path)
    data = json.loads(path.read_text())
    assert data["format"] == RECORD_FORMAT
    path.write_text(json.dumps({**data, "format": RECORD_FORMAT - 1}))
    with pytest.raises(ValueError, match=f"format {RECORD_FORMAT - 1}; this gridflow reads format {RECORD_FORMAT}"):
        read_record(path)


def test_a_failed_cell_has_no_models_and_empty_arrays(tmp_path):
    arrays = cell_arrays([], [], history_keys=HISTORY_KEYS)
    write_arrays(arrays, tmp_path / "models.npz")
    back = read_arrays(tmp_path / "models.npz")
    assert back.outputs == () and back.history.shape == (0, 4, 0)
