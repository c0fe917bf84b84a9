"""A cell's kept state: where its models stand after training, so that a larger budget goes on from there.

``state.npz`` beside a cell's results holds every model's weights, ``Dropout``
random-stream positions and optimizer slots (float32 as trained), how far
each got, the curves so far, and what it belongs to: the cell's key without
its epochs, the trainer and loop mode, and the versions that computed it. A
cell that trains to more epochs goes on from the kept state with the most
epochs below its own whose key, trainer and versions match; training on from
there gives what training from epoch 0 gives (tests/test_continue.py). It is
no Snakemake output: Snakemake removes a job's outputs before it runs again,
and the state is what the next run needs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np

from gridflow.io import atomic_path
from gridflow.train.fitting import ModelsState

STATE_FORMAT = 1
STATE_FILE = "state.npz"


def state_path(metrics_path: str | Path) -> Path:
    """The state.npz beside a cell's metrics.json."""
    return Path(metrics_path).with_name(STATE_FILE)


def _versions() -> dict:
    return {"format": STATE_FORMAT, "tensorflow": version("tensorflow"), "keras": version("keras")}


def write_state(state: ModelsState, path: str | Path, *, key: str, trainer: str, loop_mode: str | None) -> None:
    """Keep ``state`` at ``path`` (atomically), marked with what it belongs to."""
    about = {**_versions(), "key": key, "trainer": trainer, "loop_mode": loop_mode, "epochs": state.epochs}
    arrays = {f"trainable_{i}": a for i, a in enumerate(state.trainable)}
    arrays |= {f"non_trainable_{i}": a for i, a in enumerate(state.non_trainable)}
    arrays |= {f"slot_{name}_{i}": a for name, slot in state.slots.items() for i, a in enumerate(slot)}
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, about=np.array(json.dumps(about)), diverged=state.diverged, epochs_run=state.epochs_run,
                 history=state.history, **arrays)  # fmt: skip


def read_state(path: str | Path) -> tuple[ModelsState, dict]:
    """A kept state and what it belongs to (``key``, ``trainer``, ``loop_mode``, versions)."""
    with np.load(path) as npz:
        about = json.loads(str(npz["about"]))

        def numbered(prefix: str) -> tuple[np.ndarray, ...]:
            count = sum(1 for name in npz.files if name.startswith(prefix) and name[len(prefix) :].isdigit())
            return tuple(npz[f"{prefix}{i}"] for i in range(count))

        slot_names = sorted({name.split("_")[1] for name in npz.files if name.startswith("slot_")})
        state = ModelsState(
            epochs=int(about["epochs"]),
            trainable=numbered("trainable_"),
            non_trainable=numbered("non_trainable_"),
            slots={name: numbered(f"slot_{name}_") for name in slot_names},
            diverged=npz["diverged"],
            epochs_run=npz["epochs_run"],
            history=npz["history"],
        )
    return state, about


def find_start(candidates: Sequence[str | Path], *, key: str, epochs: int) -> tuple[ModelsState | None, dict, str]:
    """The kept state to go on from: the one with the most epochs below ``epochs`` that belongs to this cell.

    Returns (state, what it belongs to, a note): the state is None when there is none to go on from, and the note
    says why when a kept state was passed over (unreadable, of another key, version or budget), else "".
    """
    best, best_about, reasons = None, {}, []
    for path in candidates:
        if not os.path.exists(path):
            continue
        try:
            state, about = read_state(path)
        except Exception as error:  # noqa: BLE001  (any damage: a cut-short or foreign file)
            reasons.append(f"{path} is unreadable ({type(error).__name__})")
            continue
        if about.get("key") != key:
            continue  # another cell's, or this cell's under settings since changed: not this training
        mismatch = [f"{k} {about.get(k)}" for k, v in _versions().items() if about.get(k) != v]
        if mismatch:
            reasons.append(f"{path} is of {', '.join(mismatch)}")
        elif about["epochs"] < epochs and (best is None or about["epochs"] > best.epochs):
            best, best_about = state, about
    return best, best_about, "" if best is not None else "; ".join(reasons)
