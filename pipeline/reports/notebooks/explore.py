# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exploring the remit warehouse from DuckDB and polars
#
# A short tour for analysts. The warehouse is one DuckDB file, `warehouse.duckdb`, rebuilt every night;
# open it **read-only**. The `marts` schema holds the answers (each table has one documented grain, see
# `docs/warehouse.md`), `ref` the code lists. Money columns are `DECIMAL(18,2)` per row and `DECIMAL(38,2)`
# for monthly sums: they arrive in Python as `decimal.Decimal` and in polars as `pl.Decimal`, never as
# floats.
#
# Open this file in Jupyter with jupytext (`uv run jupyter lab`, then "Open as notebook"), or run it
# headless: `tests/test_report.py` executes it against a fixture warehouse so every cell stays true.

# %% tags=["parameters"]
warehouse = "remit-data/warehouse.duckdb"  # path of warehouse.duckdb

# %%
from decimal import Decimal  # noqa: E402 (after the parameters cell)

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from pipeline.present.format import money  # noqa: E402 (how the report prints dollars)

con = duckdb.connect(warehouse, read_only=True)
months = con.execute("SELECT min(payment_month), max(payment_month) FROM marts.kpi_month").fetchone()
print(f"payment months {months[0]} to {months[1]}")

# %% [markdown]
# ## 1. Plain SQL, with parameters
#
# Pass values as parameters (`$name` or `?`), never by formatting them into the SQL text.

# %%
top = con.execute(
    """
    SELECT group_code || '-' || reason_code AS code, min(carc_summary) AS meaning,
           sum(claims_affected) AS claims, sum(dollars) AS dollars
    FROM marts.denials_by_carc_month
    WHERE is_denial AND group_code <> 'PR' AND payment_month BETWEEN $start AND $end
    GROUP BY 1 ORDER BY dollars DESC LIMIT 5
    """,
    {"start": months[0], "end": months[1]},
).fetchall()
for code, meaning, claims, dollars in top:
    assert isinstance(dollars, Decimal)  # exact money, straight from DECIMAL
    print(f"{code:8} {claims:6,} claims  {money(dollars):>15}  {meaning}")

# %% [markdown]
# ## 2. Into polars
#
# `.pl()` hands a result to polars through Arrow (no copy through Python objects). Decimal columns stay
# decimals.

# %%
kpi = con.sql("SELECT * FROM marts.kpi_month").pl()
assert kpi.schema["net_payments"] == pl.Decimal(38, 2)  # a monthly sum
per_payer = (
    kpi.group_by("payer_name")
    .agg(
        pl.col("claims_remitted").sum(),
        pl.col("denied_claims").sum(),
        pl.col("charge_remitted").sum(),
        pl.col("denied_charge").sum(),
        pl.col("net_payments").sum(),
    )
    .with_columns((pl.col("denied_claims") / pl.col("claims_remitted")).alias("denial_rate_count"))
    .sort("net_payments", descending=True)
)
per_payer  # noqa: B018 (a notebook shows the last expression)

# %% [markdown]
# ## 3. The same figure both ways
#
# A rate over several months is the ratio of the sums, not the average of the monthly rates. DuckDB
# and polars agree when both follow that rule.

# %%
sql_rates = dict(
    con.execute(
        "SELECT payer_name, sum(denied_claims) / sum(claims_remitted) FROM marts.kpi_month "
        "GROUP BY payer_name HAVING sum(claims_remitted) > 0"
    ).fetchall()
)
polars_rates = {
    r["payer_name"]: r["denial_rate_count"]
    for r in per_payer.filter(pl.col("claims_remitted") > 0).to_dicts()
}
assert sql_rates.keys() == polars_rates.keys()
for name, rate in sql_rates.items():
    assert abs(rate - polars_rates[name]) < 1e-12, name
print(f"{len(sql_rates)} payers: DuckDB and polars agree on every denial rate")

# %% [markdown]
# ## 4. Querying polars frames with DuckDB
#
# DuckDB can read a polars DataFrame in scope by its variable name, which is handy for joining a
# local spreadsheet to the marts.

# %%
targets = pl.DataFrame({"plan_type": ["medical", "dental"], "target_denial_rate": [0.05, 0.08]})
vs_target = con.sql(
    """
    SELECT k.plan_type, sum(k.denied_claims) / sum(k.claims_remitted) AS denial_rate, t.target_denial_rate
    FROM marts.kpi_month AS k INNER JOIN targets AS t USING (plan_type)
    GROUP BY k.plan_type, t.target_denial_rate HAVING sum(k.claims_remitted) > 0 ORDER BY 1
    """
).pl()
vs_target  # noqa: B018

# %%
con.close()
