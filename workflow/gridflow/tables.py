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
from gridflow.scoring import METRICS

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


def mean_std(mean: float, std: float) -> str:
    return "" if pd.isna(mean) else f"{mean:.3f} ± {std:.3f}"


def summary_frame(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The summary as shown: rank, axis values, mean ± std per metric (selection metric first), cost, status."""
    params = [c for c in table.columns if c.startswith("param_")]
    shown = table[["rank", *params]].rename(columns=lambda c: c.removeprefix("param_"))
    for name in [metric, *(m for m in METRICS if m != metric)]:
        for part in ("cv", "test"):
            shown[f"{part} {name}"] = [
                mean_std(m, s) for m, s in zip(table[f"mean_{part}_{name}"], table[f"std_{part}_{name}"])
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
        rows.append(f'<tr class="{"ok" if status == "ok" else "not-ok"}">{cells}</tr>')
    head = "".join(_th(c) for c in shown.columns)
    counts = ", ".join(f"{n} {s}" for s, n in table["status"].value_counts().items())
    body = (
        f"<p>{len(table)} cells ({counts}), ranked by the cross-validation mean of {html.escape(metric)}; "
        "test scores are reported beside and never used for selection.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return PAGE.format(title="All cells", body=body)


def best_cell_html(best: Mapping, config: Mapping) -> str:
    """The best cell's values and CV/test scores, then the run's config with every default filled in."""
    if best["cell"] is None:
        body = "<p>No cell trained without diverging or failing.</p>"
    else:
        values = "".join(f"<tr>{_td(k)}{_td(v)}</tr>" for k, v in best["params"].items())
        scores = "".join(
            f"<tr>{_td(m)}{_td(mean_std(best['cv'][m]['mean'], best['cv'][m]['std']))}"
            f"{_td(mean_std(best['test'][m]['mean'], best['test'][m]['std']))}</tr>"
            for m in [best["metric"], *(m for m in METRICS if m != best["metric"])]
        )
        body = (
            f"<p><code>{html.escape(best['cell'])}</code>, ranked first by the cross-validation mean of "
            f"{html.escape(best['metric'])}.</p>"
            f"<table><tbody>{values}</tbody></table><h3>Scores (mean ± std over repetitions)</h3>"
            f"<table><thead><tr>{_th('metric')}{_th('cross-validation')}{_th('test')}</tr></thead>"
            f"<tbody>{scores}</tbody></table>"
        )
    plain = json.loads(json.dumps(config))  # Snakemake's config nodes as plain dicts and lists
    body += (
        "<h3>Config used (defaults filled in)</h3>"
        f"<pre>{html.escape(yaml.safe_dump(plain, sort_keys=False, default_flow_style=None, width=100))}</pre>"
    )
    return PAGE.format(title="Best cell", body=body)


def write_tables(
    *, summary_csv: str, best_json: str, config: Mapping, summary_out: str, best_out: str, log_path: str
) -> None:
    """Write summary.html and best_cell.html atomically: the body of rule tables."""
    with job_log(log_path) as log:
        table = pd.read_csv(summary_csv, keep_default_na=False, na_values=[""])
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
