"""Natural order for what people name: "Agent 2" before "Agent 10", case ignored, as the
dashboard's facets and selects list agents and trunks. The database sorts names as text
("Agent 10" before "Agent 2"), and neither SQLite nor a default PostgreSQL collation knows
better, so the short lists the pages show are sorted here, with natsort."""

from collections.abc import Callable, Iterable
from typing import TypeVar

from natsort import natsort_keygen, ns

T = TypeVar("T")

# Ties (names equal but for case) keep a fixed order by the string itself.
_natural = natsort_keygen(alg=ns.IGNORECASE)


def natural_key(text: str) -> tuple:
    return (_natural(text), text)


def naturally_sorted(items: Iterable[T], key: Callable[[T], str] = str) -> list[T]:
    """The items sorted by their name (`key`, str() by default) in natural order."""
    return sorted(items, key=lambda item: natural_key(key(item)))
