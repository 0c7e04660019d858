"""The X12 parsers: 835 (``parse_835``) and 837 (``parse_837``), bytes in, Arrow tables out, with a compiled
(numba) core (see docs/parser.md)."""

from pipeline.x12.errors import Problem, X12ParseError
from pipeline.x12.files import ParseFilesResult, parse_files
from pipeline.x12.parser import Remittance835, parse_835, parse_835_chunks, warm_up
from pipeline.x12.parser837 import Submission837, parse_837, parse_837_chunks, transaction_set

__all__ = [
    "ParseFilesResult",
    "Problem",
    "Remittance835",
    "Submission837",
    "X12ParseError",
    "parse_835",
    "parse_835_chunks",
    "parse_837",
    "parse_837_chunks",
    "parse_files",
    "transaction_set",
    "warm_up",
]
