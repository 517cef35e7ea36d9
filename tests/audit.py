"""Helpers for tests of the audit timeline."""

from kalem_site.actors import Actor
from numbers_app.models import NumberEvent

# Who the audit timeline names for changes a test makes by calling a service directly.
TEST_ACTOR = Actor.for_command("tests")
# Who every event made through the owner's API client names: (actor_type, actor_name, channel).
OWNER_TOKEN = ("token", "Owner token", "api")


def events_of(number_id: int) -> list[tuple]:
    """A number's events, oldest first, as (action, field, before, after, actor_type,
    actor_name, channel)."""
    return list(
        NumberEvent.objects.filter(number_id=number_id)
        .order_by("id")
        .values_list("action", "field", "before", "after", "actor_type", "actor_name", "channel")
    )
