"""A cell's kept state: where its models stand after training, so that a larger budget goes on from there.

``state.npz`` beside a cell's results holds every model's weights, ``Dropout``
random-stream positions and optimizer slots (float32 as trained), how far
each got, the curves so far, and what it belongs to: the cell's key without
its epochs, the split's digest (the data's contents), the trainer and loop
mode, and the versions that computed it. A cell that trains to more epochs
goes on from the kept state with the most epochs below its own that belongs
to it; training on from there gives what training from epoch 0 gives
(tests/test_continue.py). It is
no Snakemake output: Snakemake removes a job's outputs before it runs again,
and the state is what the next run needs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np

from gridflow.io import atomic_path
from gridflow.train.fitting import ModelsState

STATE_FORMAT = 2  # 2: marked with the split it trained on and its slots' names
STATE_FILE = "state.npz"


def state_path(metrics_path: str | Path) -> Path:
    """The state.npz beside a cell's metrics.json."""
    return Path(metrics_path).with_name(STATE_FILE)


def _versions() -> dict:
    return {"format": STATE_FORMAT, "tensorflow": version("tensorflow"), "keras": version("keras")}


def write_state(state: ModelsState, path: str | Path, *, belongs_to: Mapping) -> None:
    """Keep ``state`` at ``path`` (atomically), marked with what it belongs to (see ``belonging``)."""
    about = {**_versions(), **belongs_to, "epochs": state.epochs, "slots": sorted(state.slots)}
    arrays = {f"trainable_{i}": a for i, a in enumerate(state.trainable)}
    arrays |= {f"non_trainable_{i}": a for i, a in enumerate(state.non_trainable)}
    arrays |= {f"slot_{name}_{i}": a for name, slot in state.slots.items() for i, a in enumerate(slot)}
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, about=np.array(json.dumps(about)), diverged=state.diverged, epochs_run=state.epochs_run,
                 history=state.history, **arrays)  # fmt: skip


def belonging(*, key: str, split: str, trainer: str | None, loop_mode: str | None) -> dict:
    """What a state belongs to: the cell's key without its epochs and the digest of the split it trained on (the
    data's contents), which a cell must share to go on from it, and how it trained (trainer, loop mode), which the
    trainer checks (a state of another is passed over, with the reason)."""
    return {"key": key, "split": split, "trainer": trainer, "loop_mode": loop_mode}


def read_about(path: str | Path) -> dict:
    """What a kept state belongs to, read without its arrays."""
    with np.load(path) as npz:
        return json.loads(str(npz["about"]))


def read_state(path: str | Path) -> ModelsState:
    """A kept state's arrays."""
    with np.load(path) as npz:
        about = json.loads(str(npz["about"]))

        def numbered(prefix: str) -> tuple[np.ndarray, ...]:
            count = sum(1 for name in npz.files if name.startswith(prefix) and name[len(prefix) :].isdigit())
            return tuple(npz[f"{prefix}{i}"] for i in range(count))

        return ModelsState(
            epochs=int(about["epochs"]),
            trainable=numbered("trainable_"),
            non_trainable=numbered("non_trainable_"),
            slots={name: numbered(f"slot_{name}_") for name in about["slots"]},
            diverged=npz["diverged"],
            epochs_run=npz["epochs_run"],
            history=npz["history"],
        )


def find_start(
    candidates: Sequence[str | Path], *, belongs_to: Mapping, epochs: int
) -> tuple[ModelsState | None, dict, str]:
    """The kept state to go on from: the one with the most epochs below ``epochs`` that belongs to this cell.

    ``belongs_to`` (see ``belonging``) is this cell's: its key and split must match a state's, and its trainer and
    loop mode (what the cell expects to train with) should; a state of another trainer or mode is taken only when
    none of the expected ones is there (the trainer then passes it over, and says so).

    Returns (state, what it belongs to, a note): the state is None when there is none to go on from, and the note
    says why when a kept state was passed over (unreadable, of another version), else "".
    """
    found, reasons = [], []
    for path in candidates:
        if not os.path.exists(path):
            continue
        try:
            about = read_about(path)
            mismatch = [f"{k} {about.get(k)}" for k, v in _versions().items() if about.get(k) != v]
            if mismatch:  # of another gridflow state format, TensorFlow or Keras: not to be mixed with this one
                reasons.append(f"{path} is of {', '.join(mismatch)}")
                continue
            if any(about[k] != belongs_to[k] for k in ("key", "split")) or int(about["epochs"]) >= epochs:
                continue  # another cell's, of data or settings since changed, or ahead of this budget
            expected = all(about[k] == belongs_to[k] for k in ("trainer", "loop_mode"))
        except Exception as error:  # noqa: BLE001  (any damage: a cut-short or foreign file)
            reasons.append(f"{path} is unreadable ({type(error).__name__})")
            continue
        found.append(((expected, int(about["epochs"])), path, about))
    for _, path, about in sorted(found, key=lambda item: item[0], reverse=True):
        try:
            return read_state(path), about, ""
        except Exception as error:  # noqa: BLE001
            reasons.append(f"{path} is unreadable ({type(error).__name__})")
    return None, {}, "; ".join(reasons)
