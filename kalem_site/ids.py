"""Ids as the API, the dashboard and the core read them from text."""

# Ids are positive 64-bit integers; anything larger can match nothing.
MAX_ID = 2**63 - 1


def id_in_range(digits: str) -> int | None:
    """The id that a string of ASCII digits names, or None if no row can have it (0, or
    beyond 64 bits: such values must not reach the database, which would overflow)."""
    digits = digits.lstrip("0")
    if not digits or len(digits) > 19 or int(digits) > MAX_ID:
        return None
    return int(digits)
