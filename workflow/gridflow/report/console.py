"""The console of a local run: mends two gaps of its logger plugin (snakemake-logger-plugin-rich 0.5.1, pinned)."""

from __future__ import annotations


def mend_job_error_reports() -> None:
    """Make the plugin's report of a failed job always end with the full path of the job's log.

    The plugin prints a rule line "Log file: <path>" cut to the console's width
    (80 characters without a terminal, shorter than a cell's log path), then
    the log. It reads the log from a queue, a moment later: when the job is
    retried, Snakemake first removes the old log (``Job.remove_existing_output``)
    and if the retry wins the race, ``read_text`` raises and Python's logging
    prints a traceback of the plugin in place of the report.
    """
    try:
        from snakemake_logger_plugin_rich.event_handler import EventHandler
    except ImportError:  # another console: nothing to mend
        return
    original = EventHandler.handle_job_error
    if getattr(original, "mended", False):
        return

    def handle_job_error(self, event_data, **kwargs) -> None:
        try:
            original(self, event_data, **kwargs)
            cleared = ""
        except FileNotFoundError:
            cleared = " (cleared: the job's retry has begun)"
        for path in self.jobs_info.get(event_data.jobid, {}).get("log", []):
            self.console.print(f"log of job {event_data.jobid}: {path}{cleared}", soft_wrap=True, markup=False)

    handle_job_error.mended = True
    EventHandler.handle_job_error = handle_job_error
