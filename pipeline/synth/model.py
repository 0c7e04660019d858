"""The synthetic world the 835 generator draws from: payers, payees, code lists, names, rates.

Everything here is invented for the project. Names are combined at random from short lists of common
given and family names (no person is modelled), NPIs are made-up numbers with a valid check digit, tax
ids and payer ids are made up. Procedure, revenue, DRG and CDT codes are public code numbers only.
Amounts are integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- payers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payer:
    """One health plan sending 835s; ``payer_id`` is what REF*2U carries (and payers.csv keys on)."""

    payer_id: str
    name: str
    plan_type: str  # dental / medical / pharmacy (payers.csv)
    kind: str  # commercial / medicare / medicaid / advantage / dental / pharmacy: drives adjudication
    ein: str  # 9 digits; TRN03 = "1" + ein
    weight: float  # share of files
    filing: tuple[str, ...]  # CLP06 values
    allowed: tuple[float, float]  # allowed / charge ratio range
    denial_rate: float  # share of claims denied in full (CLP02 = 4)
    secondary_rate: float  # share of claims processed as secondary (CLP02 = 2, OA-23)
    method: str  # BPR04 usually used: ACH or CHK
    street: str
    city: str
    state: str
    zip: str
    phone: str


PAYERS: tuple[Payer, ...] = (
    Payer(
        "RMT01",
        "NORTHWIND HEALTH PLAN",
        "medical",
        "commercial",
        "990000101",
        0.22,
        ("12", "14", "HM"),
        (0.45, 0.80),
        0.10,
        0.03,
        "ACH",
        "400 HARBOR WAY",
        "PORTLAND",
        "OR",
        "972040001",
        "8005550101",
    ),
    Payer(
        "RMT02",
        "BLUEPEAK MUTUAL INSURANCE",
        "medical",
        "commercial",
        "990000202",
        0.16,
        ("12", "13"),
        (0.50, 0.85),
        0.11,
        0.03,
        "ACH",
        "77 SUMMIT AVE",
        "DENVER",
        "CO",
        "802020002",
        "8005550102",
    ),
    Payer(
        "RMT03",
        "FEDERAL MEDICARE CONTRACTOR SYNTH",
        "medical",
        "medicare",
        "990000303",
        0.20,
        ("MB",),
        (0.30, 0.55),
        0.09,
        0.0,
        "ACH",
        "1 GOVERNMENT PLZ",
        "COLUMBIA",
        "SC",
        "292010003",
        "8005550103",
    ),
    Payer(
        "RMT04",
        "STATE MEDICAID PROGRAM SYNTH",
        "medical",
        "medicaid",
        "990000404",
        0.12,
        ("MC",),
        (0.25, 0.45),
        0.12,
        0.08,
        "ACH",
        "200 CAPITOL ST",
        "SACRAMENTO",
        "CA",
        "958140004",
        "8005550104",
    ),
    Payer(
        "RMT05",
        "LAKESHORE MEDICARE ADVANTAGE",
        "medical",
        "advantage",
        "990000505",
        0.08,
        ("16",),
        (0.32, 0.58),
        0.10,
        0.0,
        "ACH",
        "12 LAKESHORE DR",
        "CHICAGO",
        "IL",
        "606010005",
        "8005550105",
    ),
    Payer(
        "RMT06",
        "BRIGHTSMILE DENTAL PLAN",
        "dental",
        "dental",
        "990000606",
        0.12,
        ("17",),
        (0.55, 0.85),
        0.08,
        0.02,
        "ACH",
        "9 ENAMEL CT",
        "MINNEAPOLIS",
        "MN",
        "554010006",
        "8005550106",
    ),
    Payer(
        "RMT07",
        "EVERGREEN DENTAL BENEFITS",
        "dental",
        "dental",
        "990000707",
        0.08,
        ("12", "17"),
        (0.50, 0.80),
        0.08,
        0.0,
        "CHK",
        "55 CEDAR LN",
        "SEATTLE",
        "WA",
        "981010007",
        "8005550107",
    ),
    Payer(
        "RMT08",
        "CEDAR PHARMACY BENEFITS",
        "pharmacy",
        "pharmacy",
        "990000808",
        0.02,
        ("12",),
        (0.60, 0.90),
        0.05,
        0.0,
        "ACH",
        "3 APOTHECARY RD",
        "PHOENIX",
        "AZ",
        "850010008",
        "8005550108",
    ),
)

# --- payees (providers receiving the remittance) ---------------------------------------------------------


@dataclass(frozen=True)
class Payee:
    """A provider organisation; ``kind`` decides the claims it bills."""

    name: str
    kind: str
    npi_base: str  # 9 digits; the NPI is this plus a Luhn check digit
    ein: str
    street: str
    city: str
    state: str
    zip: str


PAYEES: tuple[Payee, ...] = (
    Payee(
        "SUMMIT REGIONAL HOSPITAL",
        "hospital",
        "181234560",
        "990101001",
        "1000 SUMMIT BLVD",
        "BOULDER",
        "CO",
        "803020101",
    ),
    Payee(
        "RIVERBEND MEDICAL CENTER",
        "hospital",
        "171234561",
        "990101002",
        "25 RIVER RD",
        "DAYTON",
        "OH",
        "454020102",
    ),
    Payee(
        "MAPLE GROVE COMMUNITY HOSPITAL",
        "hospital",
        "161234562",
        "990101003",
        "8 GROVE ST",
        "MADISON",
        "WI",
        "537030103",
    ),
    Payee(
        "RIVERSIDE FAMILY CLINIC",
        "clinic",
        "151234563",
        "990101004",
        "14 RIVERSIDE AVE",
        "AUSTIN",
        "TX",
        "787010104",
    ),
    Payee(
        "OAKWOOD INTERNAL MEDICINE GROUP",
        "clinic",
        "141234564",
        "990101005",
        "300 OAK ST",
        "RALEIGH",
        "NC",
        "276010105",
    ),
    Payee(
        "HILLTOP ORTHOPEDICS AND SPORTS",
        "clinic",
        "131234565",
        "990101006",
        "61 HILLTOP DR",
        "BOISE",
        "ID",
        "837020106",
    ),
    Payee(
        "VALLEY PEDIATRIC ASSOCIATES",
        "clinic",
        "121234566",
        "990101007",
        "9 VALLEY PKWY",
        "FRESNO",
        "CA",
        "937010107",
    ),
    Payee(
        "PRAIRIE HEART AND VASCULAR",
        "clinic",
        "111234567",
        "990101008",
        "440 PRAIRIE LN",
        "OMAHA",
        "NE",
        "681020108",
    ),
    Payee(
        "LAKESIDE DENTAL GROUP",
        "dental",
        "191234568",
        "990101009",
        "17 LAKESIDE CT",
        "DULUTH",
        "MN",
        "558020109",
    ),
    Payee(
        "BRIGHT PATH FAMILY DENTISTRY",
        "dental",
        "192234569",
        "990101010",
        "230 BRIGHT ST",
        "TACOMA",
        "WA",
        "984020110",
    ),
    Payee(
        "CROWN AND BRIDGE DENTAL STUDIO",
        "dental",
        "193234570",
        "990101011",
        "5 CROWN PL",
        "EUGENE",
        "OR",
        "974010111",
    ),
    Payee(
        "CORNER STREET PHARMACY",
        "pharmacy",
        "194234571",
        "990101012",
        "2 CORNER ST",
        "TEMPE",
        "AZ",
        "852810112",
    ),
)

PAYEE_KINDS_BY_PLAN = {"medical": ("hospital", "clinic"), "dental": ("dental",), "pharmacy": ("pharmacy",)}


def npi_check_digit(base9: str) -> str:
    """Luhn check digit of an NPI: computed over ``80840`` + the first nine digits (CMS rule)."""
    digits = [int(ch) for ch in "80840" + base9]
    total = 0
    # double every second digit counting from the right of the payload (the check digit's neighbour first)
    for pos, d in enumerate(reversed(digits)):
        if pos % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_npi(base9: str) -> str:
    """A 10-digit NPI from nine made-up digits."""
    return base9 + npi_check_digit(base9)


# --- people ----------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "JAMES",
    "MARY",
    "ROBERT",
    "PATRICIA",
    "JOHN",
    "JENNIFER",
    "MICHAEL",
    "LINDA",
    "DAVID",
    "ELIZABETH",
    "WILLIAM",
    "BARBARA",
    "RICHARD",
    "SUSAN",
    "JOSEPH",
    "JESSICA",
    "THOMAS",
    "SARAH",
    "CHARLES",
    "KAREN",
    "DANIEL",
    "NANCY",
    "MATTHEW",
    "LISA",
    "ANTHONY",
    "BETTY",
    "MARK",
    "SANDRA",
    "STEVEN",
    "ASHLEY",
    "PAUL",
    "EMILY",
    "ANDREW",
    "DONNA",
    "KEVIN",
    "MICHELLE",
    "BRIAN",
    "CAROL",
    "GEORGE",
    "AMANDA",
    "OLIVIA",
    "LIAM",
    "NOAH",
    "EMMA",
    "AVA",
    "LUCAS",
    "MIA",
    "ETHAN",
    "ZOE",
    "CARLOS",
)
LAST_NAMES = (
    "SMITH",
    "JOHNSON",
    "WILLIAMS",
    "BROWN",
    "JONES",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "RODRIGUEZ",
    "MARTINEZ",
    "HERNANDEZ",
    "LOPEZ",
    "GONZALEZ",
    "WILSON",
    "ANDERSON",
    "THOMAS",
    "TAYLOR",
    "MOORE",
    "JACKSON",
    "MARTIN",
    "LEE",
    "PEREZ",
    "THOMPSON",
    "WHITE",
    "HARRIS",
    "SANCHEZ",
    "CLARK",
    "RAMIREZ",
    "LEWIS",
    "ROBINSON",
    "WALKER",
    "YOUNG",
    "ALLEN",
    "KING",
    "WRIGHT",
    "SCOTT",
    "TORRES",
    "NGUYEN",
    "HILL",
    "FLORES",
    "GREEN",
    "ADAMS",
    "NELSON",
    "BAKER",
    "HALL",
    "RIVERA",
    "CAMPBELL",
    "MITCHELL",
    "CARTER",
    "ROBERTS",
)
MIDDLE_INITIALS = "ABCDEFGHJKLMNPRSTW"

# Rendering practitioners (NM1*82): invented names with made-up NPIs.
RENDERING = tuple(
    (last, first, make_npi(base))
    for last, first, base in (
        ("OKAFOR", "ADAEZE", "102345678"),
        ("LINDQVIST", "ERIK", "103345679"),
        ("PATEL", "RHEA", "104345670"),
        ("MORENO", "DIEGO", "105345671"),
        ("CHEN", "WEI", "106345672"),
        ("BRENNAN", "SIOBHAN", "107345673"),
        ("KOWALSKI", "PIOTR", "108345674"),
        ("ADEYEMI", "TUNDE", "109345675"),
        ("HAYASHI", "KENJI", "110345676"),
        ("DUBOIS", "CLAIRE", "112345677"),
    )
)

# --- codes -----------------------------------------------------------------------------------------------

# Professional (HC): code, typical charge in cents, max units, modifiers that may appear
PROF_CODES: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("99213", 15000, 1, ("", "", "", "25")),
    ("99214", 22000, 1, ("", "", "25")),
    ("99212", 9500, 1, ("",)),
    ("99203", 18000, 1, ("",)),
    ("99204", 27000, 1, ("",)),
    ("99395", 25000, 1, ("",)),
    ("99396", 26000, 1, ("",)),
    ("90471", 3000, 1, ("",)),
    ("90686", 4500, 1, ("",)),
    ("36415", 1500, 1, ("",)),
    ("80053", 4500, 1, ("",)),
    ("85025", 3200, 1, ("",)),
    ("83036", 3800, 1, ("",)),
    ("93000", 7500, 1, ("",)),
    ("71046", 12000, 1, ("", "26")),
    ("73610", 9000, 1, ("RT", "LT")),
    ("97110", 8000, 4, ("GP",)),
    ("97140", 7500, 2, ("GP", "59")),
    ("20610", 21000, 1, ("RT", "LT")),
    ("11721", 9000, 1, ("",)),
    ("17110", 16000, 1, ("",)),
    ("96372", 4500, 1, ("",)),
    ("J1100", 2500, 3, ("",)),
    ("J3301", 3000, 2, ("",)),
    ("G0439", 20000, 1, ("",)),
    ("G0008", 3500, 1, ("",)),
    ("99284", 65000, 1, ("25",)),
    ("45378", 180000, 1, ("",)),
)
PROF_POS = ("11", "11", "11", "11", "22", "02", "23", "19")

# Institutional outpatient: revenue code, HCPCS (or ""), charge
OUTPATIENT_LINES: tuple[tuple[str, str, int], ...] = (
    ("0450", "99284", 150000),
    ("0300", "80053", 18000),
    ("0301", "85025", 9000),
    ("0320", "71046", 45000),
    ("0350", "74177", 320000),
    ("0250", "", 5000),
    ("0636", "J1100", 4000),
    ("0360", "45378", 450000),
    ("0510", "99213", 25000),
    ("0420", "97110", 30000),
    ("0730", "93000", 20000),
    ("0270", "", 12000),
)
# Institutional inpatient: DRG, relative weight (thousandths), revenue lines (code, charge)
DRGS: tuple[tuple[str, int], ...] = (
    ("470", 1900),
    ("871", 1800),
    ("291", 1300),
    ("194", 1000),
    ("392", 800),
    ("690", 800),
    ("775", 600),
    ("247", 2000),
)
INPATIENT_REVENUE = (
    ("0250", 90000),
    ("0300", 60000),
    ("0270", 80000),
    ("0360", 1200000),
    ("0710", 150000),
    ("0450", 110000),
    ("0636", 40000),
)
ROOM_PER_DAY = 260000  # 0120 semi-private room and board
DRG_BASE = 650000  # payment per unit of DRG weight

# Dental (AD): CDT code, charge, coinsurance percent paid by the patient
DENTAL_CODES: tuple[tuple[str, int, int], ...] = (
    ("D0120", 6500, 0),
    ("D0150", 11000, 0),
    ("D0140", 8500, 0),
    ("D0210", 15000, 0),
    ("D0220", 3500, 0),
    ("D0274", 7500, 0),
    ("D0330", 13000, 0),
    ("D1110", 11000, 0),
    ("D1120", 8000, 0),
    ("D1206", 5500, 0),
    ("D1351", 6000, 0),
    ("D2140", 16000, 20),
    ("D2150", 20000, 20),
    ("D2330", 17000, 20),
    ("D2391", 19000, 20),
    ("D2392", 24000, 20),
    ("D2740", 140000, 50),
    ("D2750", 130000, 50),
    ("D2950", 32000, 50),
    ("D3310", 95000, 20),
    ("D3330", 135000, 20),
    ("D4341", 28000, 20),
    ("D4342", 18000, 20),
    ("D4910", 14000, 20),
    ("D5110", 190000, 50),
    ("D7140", 22000, 20),
    ("D7210", 35000, 20),
    ("D9110", 12000, 20),
)

# Pharmacy (N4): made-up 11-digit product numbers and a typical charge
NDC_CODES: tuple[tuple[str, int], ...] = (
    ("90001000101", 2400),
    ("90001000202", 8900),
    ("90001000303", 15500),
    ("90001000404", 4300),
    ("90001000505", 31000),
    ("90001000606", 1200),
)

# Full-claim / full-line denials on medical payers: CARC, weight, group, RARCs (always one of them if
# `rarc_always`, else sometimes)
MEDICAL_DENIALS: tuple[tuple[str, int, str, tuple[str, ...], bool], ...] = (
    ("16", 18, "CO", ("M51", "MA130", "N382", "N56"), True),
    ("197", 14, "CO", ("N54", "M62"), False),
    ("50", 12, "CO", ("N115", "N386"), False),
    ("97", 10, "CO", ("M80", "N390", "M15"), False),
    ("18", 8, "OA", ("N522", "N111"), False),
    ("22", 6, "CO", ("N4", "MA04"), False),
    ("29", 6, "CO", ("N211",), False),
    ("27", 6, "CO", ("N30",), False),
    ("109", 5, "CO", ("N418",), False),
    ("96", 6, "CO", ("N130", "M127"), True),
    ("204", 4, "CO", ("N130",), False),
    ("242", 3, "CO", ("N425",), False),
    ("252", 2, "CO", ("N706", "M127"), True),
)
# CARCs denied at claim level (no service lines on the remit) part of the time
CLAIM_LEVEL_DENIALS = frozenset({"27", "29", "22", "109"})
# Partial line denials on otherwise paid medical claims
MEDICAL_LINE_DENIALS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("50", "CO", ("N115",)),
    ("97", "CO", ("M15", "M80")),
    ("16", "CO", ("M51", "N382")),
    ("96", "CO", ("N130",)),
)
DENTAL_DENIALS: tuple[tuple[str, int, str, tuple[str, ...], bool], ...] = (
    ("119", 30, "PR", ("N640",), False),
    ("151", 25, "CO", ("N362", "N640"), False),
    ("B15", 15, "CO", ("N10",), False),
    ("16", 20, "CO", ("N37", "N39", "N75", "N81"), True),
    ("96", 10, "CO", ("N346", "N130"), True),
)
DENTAL_LINE_DENIALS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("151", "CO", ("N362",)),
    ("16", "CO", ("N37", "N75")),
    ("B15", "CO", ("N10",)),
)

# Dental-medical crossover CARCs: which payer plan types use which, and the group code used
CROSSOVER_DENTAL: tuple[tuple[str, str], ...] = (("254", "CO"), ("290", "OA"), ("289", "CO"))
CROSSOVER_MEDICAL: tuple[tuple[str, str], ...] = (
    ("270", "CO"),
    ("280", "CO"),
    ("291", "OA"),
    ("292", "OA"),
    ("289", "CO"),
)
CROSSOVER_CODES = ("254", "270", "280", "289", "290", "291", "292")
# Crossover rate per service line rises linearly from the first to the last payment month
CROSSOVER_RATE_FIRST = 0.0008
CROSSOVER_RATE_LAST = 0.0042

# Claim-level remarks on MIA (inpatient) and MOA (outpatient / professional)
MIA_REMARKS = ("MA01", "N19", "MA07", "N657")
MOA_REMARKS = ("MA01", "MA18", "MA07", "N19", "MA02")

# PLB reason codes used and their sign convention (+ reduces payment, - increases it)
PLB_REASONS = ("WO", "L6", "FB")

STATES_CITIES = (
    ("SPRINGFIELD", "IL", "627010001"),
    ("FAIRVIEW", "TN", "370620002"),
    ("GREENVILLE", "SC", "296010003"),
    ("MADISON", "WI", "537010004"),
    ("CLINTON", "IA", "527320005"),
    ("SALEM", "OR", "973010006"),
)

# Sender varieties: element separator, component separator, repetition separator, segment terminator,
# what follows each terminator
FLAVOURS: dict[str, tuple[str, str, str, str, str]] = {
    "standard": ("*", ":", "^", "~", "\n"),
    "pipe-crlf": ("|", ">", "^", "~", "\r\n"),
    "caret-component": ("*", "^", "{", "~", "\n"),
    "gt-oneline": ("*", ">", "^", "~", ""),
}
# Per ten files: six standard, one of each other flavour, one file with several interchanges
FLAVOUR_PATTERN = ("standard",) * 6 + ("pipe-crlf", "caret-component", "gt-oneline", "multi")

# --- lifecycles (docs/generator.md "Denial lifecycles") ---------------------------------------------------

# payers.csv `appeal_days`: days a provider has to appeal; empty for payers that publish none (the
# warehouse then uses its documented default)
APPEAL_DAYS = {"RMT01": 180, "RMT02": 90, "RMT03": 120, "RMT05": 60, "RMT06": 180}

# How the lifecycle truth classifies the CARCs the generator writes; the same flags as reference/carc.csv
# (is_denial, category 'duplicate', is_redirect, is_crossover), checked against it in the tests.
DENIAL_CARCS = frozenset(
    {"16", "18", "27", "29", "50", "96", "97", "119", "151", "197", "204", "242", "252", "289", "B15"}
)
DUPLICATE_CARCS = frozenset({"18"})
REDIRECT_CARCS = frozenset({"22", "109", "254", "270", "280", "290", "291", "292"})
CROSSOVER_CARCS = frozenset({"254", "270", "280", "289", "290", "291", "292"})

# Denials a payer overturns on appeal: (CARC, group, RARCs), medical and dental
APPEALABLE_MEDICAL: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("50", "CO", ("N115", "N386")),
    ("197", "CO", ("N54", "M62")),
    ("204", "CO", ("N130",)),
    ("96", "CO", ("N130", "M127")),
)
APPEALABLE_DENTAL: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("151", "CO", ("N362", "N640")),
    ("B15", "CO", ("N10",)),
)
# Missing-information denials the provider corrects or resubmits (CO-16 always carries a remark)
REWORK_MEDICAL = ("16", "CO", ("M51", "MA130", "N382", "N56"))
REWORK_DENTAL = ("16", "CO", ("N37", "N39", "N75", "N81"))

# Crossover lines the other plan later pays: (SVC01 qualifier, code, typical charge, CARC, group).
# On a medical plan: dental codes redirected to the dental plan (CO-270 the provider rebills, OA-291 the
# plan forwarded) and oral surgery / dental anesthesia neither plan would take first (CO-289).
CROSSOVER_ON_MEDICAL: tuple[tuple[str, str, int, str, str], ...] = (
    ("AD", "D7210", 35000, "270", "CO"),
    ("AD", "D7140", 22000, "291", "OA"),
    ("AD", "D2740", 140000, "270", "CO"),
    ("AD", "D4341", 28000, "291", "OA"),
    ("HC", "41899", 60000, "289", "CO"),
    ("HC", "00170", 70000, "289", "CO"),
)
# On a dental plan: medical codes (TMJ surgery and imaging) redirected to the medical plan (CO-254 the
# provider rebills, OA-290 the plan forwarded), and oral surgery, TMJ appliances and deep sedation (CO-289).
CROSSOVER_ON_DENTAL: tuple[tuple[str, str, int, str, str], ...] = (
    ("HC", "21010", 180000, "254", "CO"),
    ("HC", "70336", 90000, "290", "OA"),
    ("HC", "20605", 25000, "254", "CO"),
    ("AD", "D7240", 45000, "289", "CO"),
    ("AD", "D7880", 70000, "289", "CO"),
    ("AD", "D9223", 30000, "289", "CO"),
)
