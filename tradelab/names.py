"""What a name that becomes a path or a query may look like: one pattern and one length each.

Shared by the backend (which refuses a request before it touches anything) and the workers
(which refuse a job handed to them directly): a name is checked here before it is joined to a
directory, looked up in the database or written to a file. Plain Python (no torch, no pydantic):
the backend imports it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

# Anchored both ends; each starts with a letter or digit, so "." and ".." never match, and none
# admits a slash, a backslash, whitespace or a control character.
STRATEGY = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
SYMBOL = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
TIMEFRAME = r"^[0-9]{1,4}[A-Za-z]{1,6}$"
IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"    # operation and worker ids
OPERATION_TYPE = r"^[a-z][a-z_]{0,31}$"
# A model path is any printable path of bounded length; where it may point is checked apart
# (`inside`).
MODEL_PATH = r"^[^\x00-\x1f\x7f]{1,512}$"

MAX_STRATEGY, MAX_SYMBOL, MAX_TIMEFRAME, MAX_IDENTIFIER, MAX_MODEL_PATH = 64, 32, 10, 128, 512
# A request names at most this many symbols and timeframes (a list is also a query per item:
# ten thousand unknown symbols must not become ten thousand file lookups and a 100 KB answer).
MAX_SYMBOLS, MAX_TIMEFRAMES = 20, 10
# The market data the platform can hold: anything outside is a typo or an attack, never data.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

_PATTERNS = {"strategy": STRATEGY, "symbol": SYMBOL, "timeframe": TIMEFRAME,
             "identifier": IDENTIFIER}
_COMPILED = {kind: re.compile(pattern) for kind, pattern in _PATTERNS.items()}


class BadName(ValueError):
    """A name that does not match its pattern (it would become a path or a query)."""


def check(kind: str, value: str) -> str:
    """`value` if it is a valid `kind` name (strategy, symbol, timeframe, identifier); else
    BadName, which never repeats more than the start of the value."""
    if not isinstance(value, str) or not _COMPILED[kind].fullmatch(value):
        shown = value[:40] + "…" if isinstance(value, str) and len(value) > 40 else value
        raise BadName(f"{shown!r} is not a valid {kind} name (pattern {_PATTERNS[kind]})")
    return value


def in_range(when: datetime) -> datetime:
    """`when` if it lies between EARLIEST and LATEST, else ValueError."""
    if not EARLIEST <= when < LATEST:
        raise ValueError(f"{when.date()} is outside {EARLIEST.date()} to {LATEST.date()}")
    return when


def inside(base: Path, path: str, *, follow_links: bool = False) -> Path:
    """`path` (absolute, or relative to `base`) normalised, if it stays inside `base`; else
    ValueError. Lexical by default (the backend need not see the volume); `follow_links` also
    resolves symbolic links (the worker that opens the file)."""
    if "\x00" in path:
        raise ValueError("a path must not contain a NUL byte")
    joined = os.path.join(base, path)
    resolved = Path(os.path.realpath(joined) if follow_links else os.path.normpath(joined))
    root = Path(os.path.realpath(base) if follow_links else os.path.normpath(base))
    if root not in resolved.parents:
        raise ValueError(f"must lie inside {base}")
    return resolved
