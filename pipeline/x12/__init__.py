"""The X12 835 parser: bytes in, six Arrow tables out, with a compiled (numba) core (see docs/parser.md)."""

from pipeline.x12.errors import Problem, X12ParseError
from pipeline.x12.parser import (
    ParseFilesResult,
    Remittance835,
    parse_835,
    parse_835_chunks,
    parse_files,
    warm_up,
)

__all__ = [
    "ParseFilesResult",
    "Problem",
    "Remittance835",
    "X12ParseError",
    "parse_835",
    "parse_835_chunks",
    "parse_files",
    "warm_up",
]
