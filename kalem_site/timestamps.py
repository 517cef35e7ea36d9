"""How every timestamp is written in the API and in webhook messages."""

from datetime import UTC


def format_timestamp(value) -> str:
    """ISO 8601, UTC, whole seconds, explicit offset: 2025-01-15T10:30:00+00:00."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()
