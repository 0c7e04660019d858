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
# practice absorbs, the payers that are getting worse, and dental-medical crossover, for one month and the
# 12 months ending with it. Money is in dollars and cents; a figure counts in the month its date names
# (remitted, first denied, resolved). Codes link to the handbook.

# %% tags=["parameters"]
# Papermill replaces these (pipeline.reports.render_report passes all of them).
period_end = None  # the report's month 'YYYY-MM' (or 'mtd'); default: the latest closed month
payer = None  # a payer_key to limit every figure to one payer; None for all payers
warehouse = "remit-data/warehouse.duckdb"  # path of warehouse.duckdb
home = None  # the remit home (report.toml, quarantine/, quality results); default: the warehouse's folder

# %%
import warnings  # noqa: E402 (after the parameters cell)
from pathlib import Path  # noqa: E402

from IPython.display import HTML, display  # noqa: E402

from pipeline.reports import figures, sections  # noqa: E402

warnings.filterwarnings("ignore")  # the page is for readers: library warnings go nowhere
home = home or str(Path(warehouse).parent)
con = figures.connect(warehouse)
scope = figures.Scope.make(con, end=period_end, payer=payer)
env = sections.Env.make(home)


def show(name):
    display(HTML(sections.render(name, con, scope, env)))


show("lede")

# %% [markdown]
# ## 1. Headline
#
# The month against the month before (a month to date against the same days of the month before), with
# the 12 months' totals and the targets of the report settings; then the open worklists as of the latest
# payment date.

# %%
show("headline")

# %% [markdown]
# ### Which payers are getting worse
#
# Each payer's denial rate by dollars billed in the last three months against the three months before.

# %%
show("payers")

# %% [markdown]
# ## 2. Why claims are denied
#
# Initial denials: a claim or line denied by the payer (a denial reason code under CO, OA or PI), counted
# once on the remit where it first appears, by its top reason code; by root cause (the code's category),
# by payer and reason, by code, and what became of them so far.

# %%
show("denials")

# %% [markdown]
# ## 3. Dollars the practice absorbs
#
# Adjustments the provider cannot bill to anyone, as the payers remitted them: contractual discounts it
# agreed to, denied dollars (before any appeal or corrected claim recovers them), and reductions the payer
# made on its own (payer-initiated).

# %%
show("absorbed")

# %% [markdown]
# ## 4. Dental-medical crossover
#
# Claims a dental plan sent to the medical plan or the other way round (and medical-to-pharmacy),
# by the crossover reason codes 168, 254, 270, 280, 289, 290, 291 and 292.

# %%
show("crossover")

# %% [markdown]
# ## 5. Worklists
#
# Open denials only, largest first: to appeal, to correct and resubmit, and to bill to the other plan. An
# item leaves its list when its denial is resolved and stays past its deadline until then. The payer claim
# number is the one to quote; no patient names or identifiers are shown.

# %%
show("worklists")

# %% [markdown]
# ## 6. Unanswered claims
#
# Claims submitted to the payers (837) that no remit has answered yet, by payer and days since submission;
# the denial rate on claims submitted (HFMA's basis) beside the rate on claims remitted; days from
# submission to first remit and to payment. Needs the 837s in the inbox with the 835s.

# %%
show("unanswered")

# %% [markdown]
# ## 7. Data quality
#
# The night's quality checks and any file that could not be loaded.

# %%
show("quality")

# %% [markdown]
# ## 8. What needs attention
#
# Made from the figures above and the thresholds of the report settings.

# %%
show("attention")
con.close()
