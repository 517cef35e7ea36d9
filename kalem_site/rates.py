"""Rate strings of the API_RATE_LIMIT setting: `1000/hour`, `60/minute`, `10/5minutes`, `off`.

No Django imports: settings.py parses the value at start-up so a typo fails fast."""

import re
from dataclasses import dataclass
from functools import lru_cache

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


@lru_cache(maxsize=16)
def parse_rate(value: str) -> Rate | None:
    """`1000/hour` → Rate(1000, 3600); `off` → None. Raises ValueError for anything else."""
    if value.strip().lower() in {"off", "none", ""}:
        return None
    match = _RATE_RE.fullmatch(value)
    if not match or int(match.group(1)) < 1 or int(match.group(2) or 1) < 1:
        raise ValueError(f"API_RATE_LIMIT must look like 1000/hour or be off, not {value!r}.")
    multiple = int(match.group(2) or 1)
    return Rate(limit=int(match.group(1)), period=multiple * _PERIODS[match.group(3).lower()])
