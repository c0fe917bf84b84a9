"""The console's line per cell: counts, elapsed time and the estimate of what is left."""

from gridflow.report.progress import MAX_LINES, WINDOW, CellProgress, duration


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_counts_cells_by_status_against_the_runs_total():
    clock = Clock()
    progress = CellProgress(clock)
    progress.start(total=4)
    lines = []
    for cell, status in enumerate(("ok", "diverged", "failed", "ok")):
        clock.now += 2
        lines.append(progress.cell_done(f"c{cell}", status))
    assert lines[0] == "gridflow: 1/4 cells trained (0 failed, 0 diverged), 2 s elapsed"
    assert lines[2] == "gridflow: 3/4 cells trained (1 failed, 1 diverged), 6 s elapsed, about 2 s left"
    assert lines[3] == "gridflow: 4/4 cells trained (1 failed, 1 diverged), 8 s elapsed"


def test_time_left_follows_the_pace_of_the_latest_cells():
    """The first cells compile their loops; the estimate must not keep charging that to every cell left."""
    clock = Clock()
    progress = CellProgress(clock)
    slow = 5
    assert slow + WINDOW < MAX_LINES
    progress.start(total=MAX_LINES)  # a line for every cell
    for cell in range(slow):  # slow: 5 s a cell
        clock.now += 5
        progress.cell_done(f"slow{cell}", "ok")
    for cell in range(WINDOW):  # then 0.5 s a cell
        clock.now += 0.5
        line = progress.cell_done(f"fast{cell}", "ok")
    assert line.endswith(f"about {duration(0.5 * (MAX_LINES - slow - WINDOW))} left")


def test_a_retried_cell_counts_once_with_its_last_status_and_a_new_run_starts_from_zero():
    clock = Clock()
    progress = CellProgress(clock)
    progress.start(total=2)
    progress.cell_done("a", "failed")
    assert progress.cell_done("a", "ok").startswith("gridflow: 1/2 cells trained (0 failed, 0 diverged)")
    assert progress.cell_done("b", "ok").startswith("gridflow: 2/2 cells")
    assert progress.cell_done("c", "ok").startswith("gridflow: 3/3 cells")  # more than planned raises the total
    progress.start(total=3)
    assert progress.cell_done("a", "failed").startswith("gridflow: 1/3 cells trained (1 failed, 0 diverged)")


def test_durations_read_like_a_person_would_say_them():
    said = [duration(s) for s in (0.4, 59, 65, 3599, 3725)]
    assert said == ["0 s", "59 s", "1 min 05 s", "59 min 59 s", "1 h 02 min"]


def test_a_large_run_prints_its_first_and_last_cell_and_a_line_every_1_over_max_lines_of_its_cells():
    """10,000 cells must not print 10,000 lines; the counts stay right in the lines that are shown."""
    step = -(-10_000 // MAX_LINES)  # cells between lines
    clock = Clock()
    progress = CellProgress(clock)
    progress.start(total=10_000)
    lines = []
    for cell in range(10_000):
        clock.now += 0.1
        line = progress.cell_done(f"c{cell}", "failed" if cell % 100 == 0 else "ok")
        lines += [line] if line else []
    assert len(lines) == MAX_LINES + 1
    assert lines[0].startswith("gridflow: 1/10000 cells trained (1 failed, 0 diverged)")
    assert lines[1].startswith(f"gridflow: {1 + step}/10000 cells trained ({1 + step // 100} failed, 0 diverged)")
    assert lines[-1] == "gridflow: 10000/10000 cells trained (100 failed, 0 diverged), 16 min 40 s elapsed"
    # A retry of a counted cell is no new cell: no line, and its new status replaces the old in the counts.
    progress.start(total=1_000)
    assert progress.cell_done("a", "failed").startswith("gridflow: 1/1000 cells trained (1 failed")
    assert progress.cell_done("a", "ok") is None
    progress.cell_done("b", "ok")
    step = -(-1_000 // MAX_LINES)
    assert [progress.cell_done(f"c{cell}", "ok") for cell in range(step - 1)][-1].startswith(
        f"gridflow: {1 + step}/1000 cells trained (0 failed, 0 diverged)"
    )


def test_cells_past_the_counted_total_keep_the_pace_of_lines():
    """A halving search counts round 0's cells at its start; its later rounds' cells must not print a line each."""
    progress = CellProgress(Clock())
    progress.start(total=1_000)
    step = -(-1_000 // MAX_LINES)
    lines = [line for cell in range(1_500) if (line := progress.cell_done(f"c{cell}", "ok"))]
    assert len(lines) == MAX_LINES + 1 + 500 // step
    assert lines[-1].startswith(f"gridflow: {1_000 + 500 // step * step}/{1_000 + 500 // step * step} cells trained")
    # The run's end says how many cells it trained in all, once, unless the last line said it already.
    assert progress.final_line().startswith("gridflow: 1500/1500 cells trained (0 failed, 0 diverged)")
    assert progress.final_line() is None
    progress.start(total=4)
    assert [progress.cell_done(f"c{cell}", "ok") for cell in range(4)][-1].startswith("gridflow: 4/4")
    assert progress.final_line() is None


def test_the_final_line_is_shown_only_when_the_last_line_is_out_of_date():
    assert CellProgress(Clock()).final_line() is None  # no cells here (a cluster run's submitting Snakemake)
    progress = CellProgress(Clock())
    progress.start(total=1_000)
    for cell in range(10):
        progress.cell_done(f"c{cell}", "ok")
    # A run that stopped short of its total (a failure) says how far it got, against the total.
    assert progress.final_line().startswith("gridflow: 10/1000 cells trained (0 failed, 0 diverged)")
    assert progress.final_line() is None  # said once
    progress.start(total=1_000)
    assert progress.cell_done("a", "failed").startswith("gridflow: 1/1000 cells trained (1 failed")
    assert progress.cell_done("a", "ok") is None  # a retried cell: no new cell, no line; the last one is stale
    assert progress.final_line().startswith("gridflow: 1/1000 cells trained (0 failed, 0 diverged)")
