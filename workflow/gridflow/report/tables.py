"""The summary and the best cell as small self-contained HTML pages, for the report."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import yaml

from gridflow.io import atomic_path
from gridflow.logs import job_log
from gridflow.report.figures.rounds import search_sentence
from gridflow.results.grammar import (
    CV,
    HOLDOUT,
    OK,
    axis_of,
    mean_column,
    param_columns,
    rank_column,
    read_summary,
    std_column,
    tie_tested,
    tied_cells,
)
from gridflow.spec.metrics import score_format, task_metrics

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; font-size: 14px; margin: 1em; color: #222; }}
table {{ border-collapse: collapse; font-variant-numeric: tabular-nums; }}
th, td {{ padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }}
th {{ background: #f3f3f3; position: sticky; top: 0; }}
td.text, th.text {{ text-align: left; }}
tr.not-ok td {{ color: #b00020; }}
pre {{ background: #f6f6f6; padding: 8px; }}
</style></head><body>
<h2>{title}</h2>
{body}
</body></html>
"""


def mean_std(mean: float, std: float, metric: str) -> str:
    spec = score_format(metric)
    return "" if pd.isna(mean) else f"{mean:{spec}} ± {std:{spec}}"


def summary_frame(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The summary as shown: rank, axis values, mean ± std per metric (selection metric first), cost, status."""
    shown = table[[rank_column(metric), *param_columns(table)]].rename(columns=axis_of)
    shown = shown.rename(columns={rank_column(metric): "rank"})
    shown["tied"] = tied_cells(table).map({True: "yes", False: ""})
    shown["p vs best"] = table["p_vs_best"].map(lambda p: "" if pd.isna(p) else f"{p:.3f}")
    for name in [metric, *(m for m in task_metrics(metric) if m != metric)]:
        for part, label in ((CV, "cv"), (HOLDOUT, "holdout")):
            shown[f"{label} {name}"] = [
                mean_std(m, s, name) for m, s in zip(table[mean_column(name, part)], table[std_column(name, part)])
            ]
    shown["fit s"] = table["fit_seconds"].map(lambda s: "" if pd.isna(s) else f"{s:.2f}")
    shown["parameters"] = table["n_params"].map(lambda n: "" if pd.isna(n) else f"{int(n):,}")
    shown["status"] = table["status"]
    shown["error"] = table["error"].fillna("")
    return shown


def summary_html(table: pd.DataFrame, metric: str) -> str:
    shown = summary_frame(table, metric)
    rows = []
    for (_, row), status in zip(shown.iterrows(), table["status"]):
        cells = "".join(_td(v) for v in row)
        rows.append(f'<tr class="{"ok" if status == OK else "not-ok"}">{cells}</tr>')
    head = "".join(_th(c) for c in shown.columns)
    counts = ", ".join(f"{n} {s}" for s, n in table["status"].value_counts().items())
    body = (
        f"<p>{len(table)} cells ({counts}), ranked by the cross-validation mean of {html.escape(metric)}; "
        f"{tied_sentence(int(tied_cells(table).sum()), len(table), tested=tie_tested(table))} "
        "Holdout scores (the test part) are reported beside and never used for selection.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return PAGE.format(title="All cells", body=body)


def tied_sentence(n_tied: int, n_cells: int, *, tested: bool = True) -> str:
    """How many cells the corrected t-test cannot tell from the best (``tested`` False: it could test none)."""
    if not tested:
        return (
            "no cell could be compared with the best: the test needs at least two cross-validation folds "
            "(column tied is empty)."
        )
    others = n_tied - 1
    if others < 1:
        return "no other cell is tied with the best (corrected repeated k-fold t-test)."
    return (
        f"{others} other cell{'s' if others > 1 else ''} of {n_cells - 1} "
        f"{'are' if others > 1 else 'is'} tied with the best: statistically indistinguishable from it "
        "by the corrected repeated k-fold t-test (column tied)."
    )


def best_cell_html(best: Mapping, config: Mapping) -> str:
    """The best cell's values, its CV/holdout scores beside the chance baseline's, then the run's config."""
    search = best.get("search") or {}
    if best["cell"] is None and search.get("strategy") == "halving":
        body = (
            f"<p>No cell of the last round ({search['rounds'][-1]['epochs']} epochs) trained without diverging or "
            "failing: the search ended there.</p>"
        )
    elif best["cell"] is None:
        body = "<p>No cell trained without diverging or failing.</p>"
    else:
        values = "".join(f"<tr>{_td(k)}{_td(v)}</tr>" for k, v in best["params"].items())
        baseline = best["baseline"]
        scores = "".join(
            f"<tr>{_td(m)}"
            + "".join(_td(mean_std(part[m]["mean"], part[m]["std"], m)) for part in _score_parts(best, baseline))
            + "</tr>"
            for m in [best["metric"], *(m for m in task_metrics(best["metric"]) if m != best["metric"])]
        )
        heads = ["metric", "cross-validation", "holdout"] + (["baseline CV", "baseline holdout"] if baseline else [])
        body = (
            f"<p><code>{html.escape(best['cell'])}</code>, ranked first by the cross-validation mean of "
            f"{html.escape(best['metric'])}; "
            f"{tied_sentence(best['n_tied'], best['n_cells'], tested=best['tie_tested'])}</p>"
            f"<table><tbody>{values}</tbody></table><h3>Scores (mean ± std over repetitions × folds)</h3>"
            f"<table><thead><tr>{''.join(_th(h) for h in heads)}</tr></thead><tbody>{scores}</tbody></table>"
        )
        if baseline:
            body += f"<p>Baseline: {html.escape(baseline['strategy'])}, scored on the same folds and holdout.</p>"
    if search.get("strategy") == "halving":
        body += f"<p>{'The best cell of the last round of a' if best['cell'] else 'A'} "
        body += f"{html.escape(search_sentence(search))}.</p>"
    elif search.get("strategy") == "random":
        body += f"<p>A random sample of {search['n_cells']} cells of the grid (seed {search['seed']}).</p>"
    plain = json.loads(json.dumps(config))  # Snakemake's config nodes as plain dicts and lists
    body += (
        "<h3>Config used (defaults filled in)</h3>"
        f"<pre>{html.escape(yaml.safe_dump(plain, sort_keys=False, default_flow_style=None, width=100))}</pre>"
    )
    return PAGE.format(title="Best cell", body=body)


def _score_parts(best: Mapping, baseline: Mapping | None) -> list[Mapping]:
    return [best["cv"], best["holdout"], *([baseline["cv"], baseline["holdout"]] if baseline else [])]


def write_tables(
    *, summary_csv: str, best_json: str, config: Mapping, summary_out: str, best_out: str, log_path: str
) -> None:
    """Write summary.html and best_cell.html atomically: the body of rule tables."""
    with job_log(log_path) as log:
        table = read_summary(summary_csv)
        best = json.loads(Path(best_json).read_text())
        metric = config["training"]["metric"]
        for text, path in ((summary_html(table, metric), summary_out), (best_cell_html(best, config), best_out)):
            with atomic_path(path) as tmp:
                Path(tmp).write_text(text, encoding="utf-8")
        log.info("wrote %s and %s", summary_out, best_out)


def _td(value) -> str:
    text = html.escape(str(value))
    return f'<td class="text">{text}</td>' if isinstance(value, str) and not _numeric(text) else f"<td>{text}</td>"


def _th(value) -> str:
    return f"<th>{html.escape(str(value))}</th>"


def _numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or text[0] in "-.")
