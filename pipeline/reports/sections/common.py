"""What several sections share: the headline figures' labels and how a change is printed and coloured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pipeline.present.format import count, days, money, pct, signed_days, signed_pct, signed_points

# kpi_month figures in words (restatements, attention list)
FIGURE_LABELS = {
    "payments": "payments",
    "net_payments": "net payments",
    "claims_remitted": "claims remitted",
    "denied_claims": "denied claims",
    "denial_rate_count": "denial rate (claims)",
    "denial_rate_dollars": "denial rate (dollars)",
    "initial_denied_amount": "initial denied dollars",
    "recovered_amount": "recovered after denial",
    "overturned_amount": "overturned by the payer",
    "denial_writeoff_amount": "final denial write-offs",
    "first_pass_yield": "first-pass yield",
    "median_days_to_pay": "median days to pay",
}
RATES = {"rate", "yield", "share"}


def figure_label(figure: str) -> str:
    """A marts.kpi_month column in words (an unknown one with spaces for underscores)."""
    return FIGURE_LABELS.get(figure, figure.replace("_", " "))


def value_text(figure: str, value: Decimal | None) -> str:
    """A kpi_month figure's value printed by its kind: money, rate, days or count."""
    if value is None:
        return "none"
    if figure.endswith("_amount") or "charge" in figure or figure in ("net_payments", "plb_total"):
        return money(value)
    if any(word in figure for word in RATES):
        return pct(value)
    if figure.startswith("median_days"):
        return days(value)
    return count(int(value))


@dataclass(frozen=True)
class Card:
    """One headline figure: label, value column, change column, how both are printed, and which way is
    better (True: up is better, False: down is better, None: neither, e.g. volume)."""

    label: str
    key: str
    change_key: str
    fmt: Callable[[object], str]
    kind: str  # pct | points | days
    up_is_good: bool | None
    remittance: bool  # empty in a month without payments (else a lifecycle figure: still meaningful)


CARDS = (
    Card("Claims remitted", "claims_remitted", "claims_remitted_change", count, "pct", None, True),
    Card(
        "Denial rate (claims)",
        "denial_rate_count",
        "denial_rate_count_change_points",
        pct,
        "points",
        False,
        True,
    ),
    Card(
        "Initial denied dollars", "initial_denied_amount", "initial_denied_change", money, "pct", False, True
    ),
    Card("Recovered after denial", "recovered_amount", "recovered_change", money, "pct", True, False),
    Card("Overturned by the payer", "overturned_amount", "overturned_change", money, "pct", True, False),
    Card(
        "Final denial write-offs",
        "denial_writeoff_amount",
        "denial_writeoff_change",
        money,
        "pct",
        False,
        False,
    ),
    Card("First-pass yield", "first_pass_yield", "first_pass_yield_change_points", pct, "points", True, True),
    Card("Median days to pay", "median_days_to_pay", "median_days_to_pay_change", days, "days", False, True),
    Card(
        "Redirects paid by the other plan",
        "redirect_recovered_amount",
        "redirect_recovered_change",
        money,
        "pct",
        True,
        False,
    ),
    Card("Net payments", "net_payments", "net_payments_change", money, "pct", None, True),
)
CHANGE_TEXT = {"pct": signed_pct, "points": signed_points, "days": signed_days}
CHANGE_UNIT = {"pct": Decimal("0.001"), "points": Decimal("0.1"), "days": Decimal("0.1")}


def change_css(change: Decimal | None, up_is_good: bool | None, unit: Decimal) -> str:
    """'worse', 'better' or '' (neutral): one colour means worse whichever way the number moved; a change
    that prints as zero, or of a figure that is neither good nor bad (volume), is neutral."""
    if change is None or up_is_good is None or abs(change) * 2 < unit:
        return ""
    return "better" if (change > 0) == up_is_good else "worse"
