"""Make tabular data sets like the ones people bring: text categories, yes/no columns and gaps.

    python scripts/tabular_data.py customers config/examples/customers.csv   # 800 customers, left or stayed
    python scripts/tabular_data.py wide big.parquet --rows 200000 --columns 40

The label depends on the columns (and on noise), so a model can learn it and
a chance baseline cannot. Seeded: the same arguments give the same file.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

CITIES = ["Lille", "Lyon", "Nantes", "Nice", "Paris"]


def customers(n_rows: int = 800, seed: int = 0) -> pd.DataFrame:
    """Customers who left or stayed: age (5 % gaps), income, city (text, 3 % gaps), member (yes/no)."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(45, 12, n_rows), 18, 90).round()
    income = rng.lognormal(10.3, 0.4, n_rows).round(-1)
    city = rng.choice(CITIES, n_rows, p=[0.15, 0.25, 0.15, 0.15, 0.3])
    member = rng.choice(["yes", "no"], n_rows, p=[0.4, 0.6])
    city_effect = pd.Series(city).map({"Lille": 0.8, "Lyon": -0.2, "Nantes": 0.4, "Nice": -0.8, "Paris": 0.0})
    logit = -0.06 * (age - 45) + 1.6 * (member == "no") - 0.8 + city_effect.to_numpy() - np.log(income / 30000)
    left = rng.random(n_rows) < 1 / (1 + np.exp(-logit))
    table = pd.DataFrame({"age": age, "income": income, "city": city, "member": member,
                          "label": np.where(left, "left", "stayed")})  # fmt: skip
    table.loc[rng.random(n_rows) < 0.05, "age"] = np.nan
    table.loc[rng.random(n_rows) < 0.03, "city"] = None
    return table


def wide(n_rows: int, n_columns: int, seed: int = 0) -> pd.DataFrame:
    """``n_columns`` features, half numeric (1 % gaps) and half text categories (2 to 30 values), a 0/1 label."""
    rng = np.random.default_rng(seed)
    columns, logit = {}, np.zeros(n_rows)
    for j in range(n_columns):
        if j % 2 == 0:
            values = rng.normal(size=n_rows)
            logit += rng.normal() * values / np.sqrt(n_columns)
            values[rng.random(n_rows) < 0.01] = np.nan
            columns[f"x{j}"] = values.astype(np.float32)
        else:
            k = int(rng.integers(2, 31))
            codes = rng.integers(0, k, n_rows)
            logit += rng.normal(size=k)[codes] / np.sqrt(n_columns)
            columns[f"c{j}"] = pd.Categorical.from_codes(codes, [f"v{i}" for i in range(k)])
    columns["label"] = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pd.DataFrame(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["customers", "wide"])
    parser.add_argument("path", help="a .csv or .parquet file to write")
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--columns", type=int, default=40)
    args = parser.parse_args()
    table = customers(args.rows) if args.kind == "customers" else wide(args.rows, args.columns)
    table.to_parquet(args.path, index=False) if args.path.endswith(".parquet") else table.to_csv(args.path, index=False)


if __name__ == "__main__":
    main()
