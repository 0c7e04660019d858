"""How remit prints figures: dollars, counts, rates, changes, months and code links.

Every printed figure of the report and the handbook goes through these functions, so the tests can format
a hand-worked value the same way and look for it in the page. Money stays ``Decimal`` until it is printed.
No function here computes a figure: each prints one value it is handed.
"""

from __future__ import annotations

import html
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def money(value: Decimal | int | None) -> str:
    """``Decimal('-1234.5')`` -> ``'-$1,234.50'``; None -> ``'–'``."""
    if value is None:
        return "–"
    amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def count(value: int | None) -> str:
    """``1234`` -> ``'1,234'``."""
    return "–" if value is None else f"{int(value):,}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``plural(1, 'claim')`` -> ``'1 claim'``; ``plural(1200, 'claim')`` -> ``'1,200 claims'``."""
    return f"{count(n)} {word if n == 1 else (words or word + 's')}"


def days(value: Decimal | int | None) -> str:
    """``Decimal('23.5')`` -> ``'23.5 days'``; None -> ``'–'``."""
    return "–" if value is None else f"{Decimal(value):,.1f} days"


def signed_days(value: Decimal | int | None) -> str:
    """``Decimal('-2.5')`` -> ``'-2.5 days'``; None -> ``'n/a'``."""
    if value is None:
        return "n/a"
    v = Decimal(value)
    return f"{'+' if v > 0 else ''}{v:,.1f} days"


def pct(rate: Decimal | None, places: int = 1) -> str:
    """A ratio as a percentage: ``Decimal('0.1234')`` -> ``'12.3 %'``; None -> ``'–'``."""
    if rate is None:
        return "–"
    value = (Decimal(rate) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value:,.{places}f} %"


def signed_pct(change: Decimal | None) -> str:
    """``Decimal('0.12')`` -> ``'+12.0 %'``; None -> ``'n/a'``."""
    if change is None:
        return "n/a"
    value = (change * 100).quantize(TENTH, rounding=ROUND_HALF_UP)
    return f"{'+' if value > 0 else ''}{value:,.1f} %"


def signed_points(value: Decimal | None) -> str:
    """``Decimal('1.25')`` -> ``'+1.3 pts'``; None -> ``'n/a'``."""
    if value is None:
        return "n/a"
    v = value.quantize(TENTH, rounding=ROUND_HALF_UP)
    return f"{'+' if v > 0 else ''}{v:,.1f} pts"


def month_label(month: str) -> str:
    """``'2025-06'`` -> ``'June 2025'``."""
    year, mon = month.split("-")
    return f"{MONTH_NAMES[int(mon) - 1]} {year}"


def date_label(value: object) -> str:
    """``date(2025, 2, 10)`` -> ``'10 February 2025'`` (a ``YYYY-MM-DD`` text is read the same way)."""
    text = str(value)[:10]
    return f"{int(text[8:10])} {MONTH_NAMES[int(text[5:7]) - 1]} {text[:4]}"


def category_label(code: str | None) -> str:
    """A ref.carc category code in words: ``'coding_billing'`` -> ``'Coding and billing'``."""
    if not code:
        return "–"
    return CATEGORY_LABELS.get(code, code.replace("_", " ").capitalize())


# ref.carc.category codes in plain words (reference/README.md lists the codes)
CATEGORY_LABELS = {
    "contractual": "Contractual",
    "coding_billing": "Coding and billing",
    "payer_processing": "Payer processing",
    "missing_information": "Missing information",
    "coordination_of_benefits": "Coordination of benefits",
    "benefit_limit_noncovered": "Benefit limit or not covered",
    "authorization_referral": "Authorization or referral",
    "eligibility_coverage": "Eligibility and coverage",
    "patient_responsibility": "Patient responsibility",
    "medical_necessity": "Medical necessity",
    "dental_medical_crossover": "Dental-medical crossover",
    "timely_filing": "Timely filing",
    "duplicate": "Duplicate",
    "other": "Other",
    "other reasons": "Other reasons",
}


def short_month(month: str) -> str:
    """``'2025-06'`` -> ``'Jun 2025'``."""
    return month_label(month)[:3] + " " + month[:4]


def esc(text: object) -> str:
    """HTML-escape any value (None -> empty)."""
    return "" if text is None else html.escape(str(text), quote=True)


def carc_link(code: str, group: str | None = None, base: str = "handbook/") -> str:
    """``CO-16`` linked to the handbook page ``carc-16.html`` (``base``: the handbook folder relative to
    the page; ``handbook/`` from ``reports/``, empty inside the handbook)."""
    label = f"{group}-{code}" if group else code
    return f'<a href="{esc(base)}carc-{esc(code)}.html">{esc(label)}</a>'


def rarc_links(codes: str | None) -> str:
    """Remark codes (separated by spaces or commas), each linked to ``handbook/rarc-<code>.html``; '–' when
    none."""
    if not codes:
        return "–"
    return ", ".join(
        f'<a href="handbook/rarc-{esc(c)}.html">{esc(c)}</a>' for c in codes.replace(",", " ").split() if c
    )


# ref.carc_group_guidance.action codes in plain words (reference/README.md lists the codes)
ACTION_LABELS = {
    "write_off": "Write off; do not bill the patient",
    "bill_patient": "Bill the patient",
    "correct_and_resubmit": "Correct the claim and resubmit",
    "appeal": "Appeal with supporting documents",
    "review_and_decide": "Review, then appeal, resubmit or write off",
    "submit_to_other_plan": "Submit to the other plan",
    "none": "No action needed",
}


# what "review, then decide" means for a code of each ref.carc category: the step to start with
REVIEW_BY_CATEGORY = {
    "medical_necessity": "Send records showing medical necessity, or write off",
    "authorization_referral": "Find the authorization; appeal with it, or write off",
    "coding_billing": "Check the coding; correct and resubmit, or appeal",
    "missing_information": "Supply the missing information and resubmit",
    "eligibility_coverage": "Verify coverage; bill the right plan",
    "benefit_limit_noncovered": "Check the benefit; appeal or write off per contract",
    "timely_filing": "Send proof of timely filing, or write off",
    "coordination_of_benefits": "Bill the primary plan first",
    "dental_medical_crossover": "Bill the other plan (dental or medical), or appeal",
    "payer_processing": "Ask the payer to reprocess; appeal if it will not",
    "contractual": "Check the contract; appeal an underpayment",
}


def action_label(code: str | None, category: str | None = None) -> str:
    """A guidance action code in plain words; "review and decide" is made specific by the CARC's category
    when one is given (an unknown code is shown with spaces for underscores)."""
    if not code:
        return "–"
    if code == "review_and_decide" and category in REVIEW_BY_CATEGORY:
        return REVIEW_BY_CATEGORY[category]
    return ACTION_LABELS.get(code, code.replace("_", " ").capitalize())


def reading(text: str) -> str:
    """The plain-language reading of a chart or table, as a highlighted paragraph (``text`` is escaped)."""
    return f'<p class="reading">{esc(text)}</p>'
