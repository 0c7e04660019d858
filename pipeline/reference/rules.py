"""Fallback guidance: what a CARC means under a group code when nobody curated that pair by hand.

``reference/carc_group_guidance.csv`` holds four rows per CARC. Rows for the most common codes and every
crossover code are curated; the rest are ``group_rule`` rows produced by :func:`group_rule` from the group
code and the CARC's flags and category. The same function fills in codes that an imported official list
adds after the seeds were written, so a join on (reason_code, group_code) never misses. The rules are
documented in ``reference/README.md``; a test keeps every ``group_rule`` row in the CSV equal to this
function's answer.
"""

from __future__ import annotations

from dataclasses import dataclass

# Categories whose denials are usually fixed by correcting the claim rather than arguing it.
_FIX_AND_RESUBMIT = {"coding_billing", "missing_information", "duplicate"}
# Categories whose denials are usually argued with documentation.
_APPEAL = {"authorization_referral", "medical_necessity"}


@dataclass(frozen=True)
class CarcFacts:
    """The CARC facts the rules look at (one row of ``ref.carc``)."""

    code: str
    category: str
    is_denial: bool
    is_expected_contractual: bool
    is_redirect: bool = False
    is_crossover: bool = False
    crossover_direction: str | None = None


@dataclass(frozen=True)
class Guidance:
    """One row of ``ref.carc_group_guidance``."""

    reason_code: str
    group_code: str
    who_pays: str
    patient_billable: bool
    appealable: bool
    action: str
    patient_impact: str
    is_provider_absorbed: bool
    absorbed_category: str | None
    guidance_source: str

    def as_csv_row(self) -> dict[str, str]:
        """The row as ``carc_group_guidance.csv`` spells it (lower-case booleans, empty for NULL)."""
        return {
            "reason_code": self.reason_code,
            "group_code": self.group_code,
            "who_pays": self.who_pays,
            "patient_billable": str(self.patient_billable).lower(),
            "appealable": str(self.appealable).lower(),
            "action": self.action,
            "patient_impact": self.patient_impact,
            "is_provider_absorbed": str(self.is_provider_absorbed).lower(),
            "absorbed_category": self.absorbed_category or "",
            "guidance_source": self.guidance_source,
        }


def _denial_action(category: str) -> str:
    if category in _FIX_AND_RESUBMIT:
        return "correct_and_resubmit"
    if category in _APPEAL:
        return "appeal"
    return "review_and_decide"


def _is_redirect(facts: CarcFacts) -> bool:
    """A redirect points at another plan or payer (``ref.carc.is_redirect``; 289 is not one)."""
    return facts.is_redirect


def group_rule(facts: CarcFacts, group_code: str) -> Guidance:
    """Derive the guidance for ``facts`` under ``group_code`` (CO, PR, OA or PI) by the documented rules.

    - PR: the patient owes it and may be billed; appealable only when the code is a denial.
    - A redirect (``is_redirect``: another plan or payer should pay, e.g. 22, 109, 254, 290):
      not provider-absorbed; PR keeps the patient billable if the other plan does not pay.
    - CO with an expected contractual code: provider writes it off as ``expected_contractual``.
    - CO, PI or OA with a denial code: provider absorbs it as ``denial_writeoff`` unless it is corrected
      or won on appeal; the action follows the category (fix-and-resubmit, appeal, or review).
    - PI without a denial: a payer-initiated reduction with no contract behind it (``payer_initiated``),
      not billable, worth disputing.
    - CO or OA without a denial (pricing, processing, informational): provider does not collect it;
      absorbed as ``other`` so the expected/denial split stays clean.
    """
    if group_code not in ("CO", "PR", "OA", "PI"):
        raise ValueError(f"group code {group_code!r} is not one of CO, PR, OA, PI")
    code = facts.code

    def row(
        who: str, billable: bool, appeal: bool, action: str, impact: str, absorbed: str | None
    ) -> Guidance:
        return Guidance(
            code,
            group_code,
            who,
            billable,
            appeal,
            action,
            impact,
            absorbed is not None,
            absorbed,
            "group_rule",
        )

    if group_code == "PR":
        if _is_redirect(facts):
            return row(
                "other_payer",
                True,
                False,
                "submit_to_other_plan",
                "patient owes it if the other plan does not pay",
                None,
            )
        return row("patient", True, facts.is_denial, "bill_patient", "patient owes this amount", None)
    if _is_redirect(facts):
        return row(
            "other_payer", False, False, "submit_to_other_plan", "none now; the other plan decides", None
        )
    if facts.is_denial:
        return row(
            "provider",
            False,
            True,
            _denial_action(facts.category),
            "none; may not be billed",
            "denial_writeoff",
        )
    if group_code == "PI":
        return row("provider", False, True, "review_and_decide", "none; may not be billed", "payer_initiated")
    if group_code == "CO" and facts.is_expected_contractual:
        return row("provider", False, False, "write_off", "none; may not be billed", "expected_contractual")
    return row("provider", False, False, "review_and_decide", "none; may not be billed", "other")
