from gridflow.report.tables import write_tables


rule tables:
    input:
        summary="results/summary.csv",
        best="results/best.json",
    output:
        summary=report(
            "results/tables/summary.html",
            caption="../report/summary_table.rst",
            category="Results",
            labels={"table": "all cells"},
        ),
        best=report(
            "results/tables/best_cell.html",
            caption="../report/best_cell.rst",
            category="Results",
            labels={"table": "best cell"},
        ),
    log:
        "results/logs/tables/tables.log",
    params:
        config=config,
        metric=config["training"]["metric"],
        about=ABOUT_CELLS,
    run:
        write_tables(
            summary_csv=input.summary,
            best_json=input.best,
            config=params.config,
            summary_out=output.summary,
            best_out=output.best,
            log_path=log[0],
        )
