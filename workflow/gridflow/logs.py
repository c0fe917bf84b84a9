"""Per-job log files; jobs may share one process, so no global handlers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def job_log(log_path: str | Path) -> Iterator[logging.Logger]:
    """A logger writing only to ``log_path``; closed when the block ends.

    Exceptions raised in the block are logged with their traceback, then re-raised.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    logger = logging.Logger(f"gridflow job {log_path}", logging.INFO)  # unregistered: freed afterwards
    Path(log_path).write_text("")
    # Append mode: a worker's stderr (TensorFlow's C++ messages) may be appended to the same file.
    handler = logging.FileHandler(log_path, mode="a")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        yield logger
    except BaseException:
        logger.exception("job failed")
        raise
    finally:
        handler.close()
