"""The training process of a local run: slots in parallel, logs per cell, replaced when it dies or grows."""

import time

import pytest
from conftest import ROOT

from gridflow.train import workers


@pytest.fixture(autouse=True)
def jobs(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests/data"))
    import worker_jobs

    return worker_jobs


def test_slots_run_at_once_in_one_process(jobs):
    import threading

    pool = workers.WorkerPool(slots=2)
    pool.run(jobs.nap, 0)  # start the process
    pids = []
    started = time.perf_counter()
    threads = [threading.Thread(target=lambda: pids.append(pool.run(jobs.nap, 1.0))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.perf_counter() - started < 1.8  # two 1 s naps side by side, not one after the other
    assert len(set(pids)) == 1


def test_process_is_replaced_once_it_has_built_enough_loops(jobs, monkeypatch):
    monkeypatch.setattr(workers, "LOOPS_PER_PROCESS", 2)
    pool = workers.WorkerPool(slots=1)
    first = pool.run(jobs.build_a_loop)
    old = pool.current.process
    assert pool.run(jobs.build_a_loop) == first  # second loop: now at the limit
    third = pool.run(jobs.build_a_loop)
    assert third != first
    old.join(timeout=10)
    assert not old.is_alive()  # the replaced process was stopped


def test_a_dead_process_fails_its_call_and_the_next_call_gets_a_new_one(jobs):
    pool = workers.WorkerPool(slots=1)
    before = pool.run(jobs.nap, 0)
    with pytest.raises(workers.WorkerDied):
        pool.run(jobs.die)
    assert pool.run(jobs.nap, 0) != before


def test_errors_come_back_as_raised(jobs):
    pool = workers.WorkerPool(slots=1)
    with pytest.raises(ValueError, match="no such luck"):
        pool.run(jobs.fail)


def test_what_the_process_prints_to_stderr_lands_in_the_calls_log(jobs, tmp_path):
    pool = workers.WorkerPool(slots=1)
    log = tmp_path / "cell.log"
    log.write_text("cell started\n")
    pool.run(jobs.print_to_stderr, "I0000 oneDNN custom operations are on\n", stderr_path=str(log))
    pool.run(jobs.print_to_stderr, "not for this cell\n", stderr_path=str(tmp_path / "other.log"))
    assert log.read_text() == "cell started\nI0000 oneDNN custom operations are on\n"
