"""The peer: scikit-learn's GridSearchCV over a scikeras KerasClassifier, as the blog post does it.

    .venv/bin/python benchmarks/peer_gridsearchcv.py GRID_JSON --folds 3 --epochs 10 --jobs 2

Run by bench_peer.py as a subprocess, so its time includes importing
TensorFlow like a user's script would. Prints the best parameters and score.
Needs benchmarks/requirements.txt (scikeras).
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build(hidden_units=32, activation="relu", dropout=0.0, meta=None):
    """The blog post's network, as in gridflow's built-in mlp."""
    import keras

    inputs = keras.Input(shape=(meta["n_features_in_"],))
    hidden = keras.layers.Dropout(rate=dropout)(inputs)
    hidden = keras.layers.Dense(hidden_units, activation=activation)(hidden)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(hidden)
    return keras.Model(inputs, outputs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("grid", help="the grid as JSON: axis -> values (gridflow's axis names)")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    from scikeras.wrappers import KerasClassifier
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.2, stratify=y, random_state=42)
    classifier = KerasClassifier(
        model=build,
        loss="sparse_categorical_crossentropy",
        optimizer="sgd",
        epochs=args.epochs,
        verbose=0,
        random_state=42,
    )
    names = {"batch_size": "clf__batch_size", "learning_rate": "clf__optimizer__learning_rate"}
    grid = {names.get(axis, f"clf__model__{axis}"): values for axis, values in json.loads(args.grid).items()}
    search = GridSearchCV(
        Pipeline([("scale", StandardScaler()), ("clf", classifier)]),
        grid,
        cv=StratifiedKFold(args.folds, shuffle=True, random_state=42),
        n_jobs=args.jobs,
        scoring="accuracy",
    )
    search.fit(x_train, y_train)
    print(json.dumps({"best_params": search.best_params_, "best_score": search.best_score_}))


if __name__ == "__main__":
    main()
