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
# # Remittance report
#
# What the payers' 835 remittances say about denials from first denial to resolution, the dollars the
# practice absorbs, the payers that are getting worse, and dental-medical crossover. Every figure is read
# from the warehouse's metrics layer (the `marts.report_*` views of `warehouse.duckdb`, built nightly by
# `remit run`; definitions in docs/metrics.md); nothing is computed here. Money is in dollars and cents;
# a figure counts in the month its date names (remitted, first denied, resolved). Codes link to the
# handbook.

# %% tags=["parameters"]
# Papermill replaces these (pipeline.reports.render_report passes all of them).
period_end = None  # last month 'YYYY-MM' of the 12; default: the latest payment month in the warehouse
payer = None  # a payer_key to limit every figure to one payer; None for all payers
warehouse = "remit-data/warehouse.duckdb"  # path of warehouse.duckdb
home = None  # the remit home (quarantine/, quality results); default: the warehouse's folder

# %%
import warnings  # noqa: E402 (after the parameters cell)
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402 (after the parameters cell)

from IPython.display import HTML, display  # noqa: E402 (after the parameters cell)

from pipeline.reports import figures, sections  # noqa: E402 (after the parameters cell)
from pipeline.reports.format import esc, month_label  # noqa: E402 (after the parameters cell)

warnings.filterwarnings("ignore")  # the page is for readers: library warnings go nowhere
home = home or str(Path(warehouse).parent)
con = figures.connect(warehouse)
scope = figures.Scope.make(con, end=period_end, payer=payer)
who = (
    f"payer {figures.payer_names(con).get(scope.payer, scope.payer)} ({scope.payer})"
    if scope.payer
    else "all payers"
)
built = datetime.fromtimestamp(Path(warehouse).stat().st_mtime, UTC)
display(
    HTML(
        f'<p class="lede">{esc(month_label(scope.start))} to {esc(month_label(scope.end))}, {esc(who)}. '
        f"Month-over-month changes compare {esc(month_label(scope.end))} with "
        f"{esc(month_label(scope.previous))}. Warehouse built {built:%Y-%m-%d %H:%M} UTC.</p>"
    )
)

# %% [markdown]
# ## 1. Headline
#
# The last month of the period against the month before, and the period's totals: initial denied dollars
# (first denied that month), what denials resolved that month recovered and what became final write-offs,
# first-pass yield and days to pay; then the open worklists as of the warehouse's latest payment date.

# %%
display(HTML(sections.headline(con, scope)))

# %% [markdown]
# ### Which payers are getting worse
#
# Each payer's denial rate by dollars billed in the last three months against the three months before.

# %%
display(HTML(sections.payers(con, scope)))

# %% [markdown]
# ## 2. Why claims are denied
#
# Initial denials: a claim or line denied by the payer (a denial reason code under CO, OA or PI), counted
# once on the remit where it first appears, by its top reason code; and what became of them so far. The
# meaning of each code and the recommended next step come from the reference tables.

# %%
display(HTML(sections.denials(con, scope)))

# %% [markdown]
# ## 3. Dollars the practice absorbs
#
# Adjustments the provider cannot bill to anyone, as the payers remitted them: contractual discounts it
# agreed to, denied dollars (before any appeal or corrected claim recovers them), and reductions the payer
# made on its own (payer-initiated).

# %%
display(HTML(sections.absorbed(con, scope)))

# %% [markdown]
# ## 4. Dental-medical crossover
#
# Claims a dental plan sent to the medical plan or the other way round (and medical-to-pharmacy),
# by the crossover reason codes 168, 254, 270, 280, 289, 290, 291 and 292.

# %%
display(HTML(sections.crossover(con, scope)))

# %% [markdown]
# ## 5. Worklists
#
# Open denials only, largest first: to appeal, to correct and resubmit, and to bill to the other plan. An
# item leaves its list when its denial is resolved and stays past its deadline until then. The payer claim
# number is the one to quote; no patient names or identifiers are shown.

# %%
display(HTML(sections.appeals(con, scope)))

# %% [markdown]
# ## 6. Data quality
#
# The night's quality checks and any file that could not be loaded.

# %%
display(HTML(sections.data_quality(con, scope, home)))
con.close()
