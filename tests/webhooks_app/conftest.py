"""Fixtures of the webhooks suite: a real receiver that verifies signatures, and delivery
as the workers do it (the service they call, here in the test's process)."""

import pytest

from webhooks_app.outbox import expand_outbox
from webhooks_app.services import deliver_due_messages

from .receiver import Receiver


@pytest.fixture
def insecure(settings):
    """WEBHOOK_ALLOW_INSECURE=1: the receiver is on http://127.0.0.1."""
    settings.WEBHOOK_ALLOW_INSECURE = True


@pytest.fixture
def receiver(insecure):
    with Receiver() as server:
        yield server


def expand_all() -> None:
    """Make every outbox row into its messages, as a worker does first."""
    while expand_outbox():
        pass


def deliver_all() -> int:
    """Deliver what is due now, as a worker would, until nothing is; returns how many
    messages were claimed."""
    expand_all()
    total = 0
    while claimed := deliver_due_messages(limit=50):
        total += claimed
    return total


@pytest.fixture
def endpoint_for(api, receiver):
    """Create an endpoint through the API pointing at `receiver`, and give the receiver its
    secret; returns the create response's body."""

    def create(target=None, **fields) -> dict:
        target = target or receiver
        response = api.post("/api/v1/webhooks", {"url": target.url, **fields}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        target.secrets.append(body["secret"])
        return body

    return create
