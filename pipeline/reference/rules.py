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

# The group codes X12's usage notes allow for a CARC, where they restrict it (facts from the code list of
# 2026-08-17; a test checks this table against the snapshot). 18 allows CO only where a state's workers'
# compensation rules require it. A code missing here may be sent under any group.
X12_GROUPS: dict[str, tuple[str, ...]] = {
    "18": ("OA", "CO"),
    "23": ("OA",),
    "45": ("PR", "CO"),
    "85": ("PR",),
    "133": ("OA",),
    "136": ("OA",),
    "139": ("CO",),
    "201": ("PR",),
    "209": ("OA",),
    "229": ("PR",),
    "238": ("PR",),
    "249": ("CO",),
    "255": ("OA",),
    "257": ("OA",),
    "271": ("OA",),
    "275": ("PR",),
    "277": ("OA",),
    "278": ("CO", "PI"),
    "281": ("CO",),
    "303": ("CO",),
    "P3": ("PR",),
    "P11": ("OA",),
    "P16": ("CO", "OA"),
    "P24": ("CO",),
    "P25": ("CO",),
    "P26": ("CO",),
    "W5": ("CO", "OA"),
}

# Reductions that are the payer's or the contract's by nature, never the patient's whatever the group:
# capitation (24), budget cuts (43 Gramm-Rudman, 253 sequestration), a claim-specific negotiated
# discount (131) and withholds (104, 245). A PR group on them is a payer error, not a patient balance.
PAYER_SIDE_REDUCTIONS = frozenset({"24", "43", "104", "131", "245", "253"})


def never_billable_to_patient(code: str) -> bool:
    """True when no group makes this CARC's amount the patient's (X12 keeps it off PR, or it is a
    payer-side reduction): a PR group on it is the payer's error."""
    groups = X12_GROUPS.get(code)
    return (groups is not None and "PR" not in groups) or code in PAYER_SIDE_REDUCTIONS


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

    - PR on a code that is never the patient's (X12 allows it only under other groups, or a payer-side
      reduction such as sequestration): not billable; the provider absorbs it (``other``) unless the
      payer corrects the group.
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
        if never_billable_to_patient(code):
            return row(
                "provider",
                False,
                facts.is_denial,
                "review_and_decide",
                "not billable: the code is never the patient's; ask the payer to correct the group",
                "other",
            )
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
