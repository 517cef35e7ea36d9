"""The outbox's Number object after changes that save their events before the change lands
(bulk changes past one batch, renames, an agent's deletion), and the layering of the core."""

import ast
from pathlib import Path

import orjson
import pytest

from agents_app import services as agent_services
from kalem_site.actors import Actor
from numbers_app import services as number_services
from numbers_app.models import NumberEvent
from webhooks_app import services
from webhooks_app.models import WebhookMessage

pytestmark = pytest.mark.django_db
ACTOR = Actor.for_command("test")


def bodies() -> list[dict]:
    return [
        orjson.loads(payload)
        for payload in WebhookMessage.objects.order_by("event_id").values_list("payload", flat=True)
    ]


def test_a_bulk_change_beyond_one_batch_shows_every_number_as_changed(account, make_number, insecure):
    numbers = [make_number(account) for _ in range(1201)]
    services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    changed = number_services.number_bulk_update(
        actor=ACTOR, account=account, ids=[n.pk for n in numbers], status="inactive"
    )
    assert changed == 1201
    messages = bodies()
    assert len(messages) == 1201
    events = dict(NumberEvent.objects.values_list("id", "number_id"))
    for body in messages:
        assert body["type"] == "number.deactivated"
        assert body["data"]["number"]["status"] == "inactive"
        assert body["data"]["number"]["id"] == events[body["data"]["event"]["id"]]
        assert body["data"]["number"]["updated_at"] >= body["data"]["event"]["occurred_at"]


def test_a_rename_and_an_agents_deletion_show_the_number_after_them(account, make_number, make_voice_agent, insecure):
    agent = make_voice_agent(account, "Sales")
    agent_id = agent.pk
    number = make_number(account, voice_agent=agent)
    services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    agent_services.agent_update(actor=ACTOR, agent=agent, name="Sales EU")
    agent_services.agent_delete(actor=ACTOR, agent=agent)
    renamed, unassigned = bodies()
    assert renamed["type"] == "number.renamed"
    assert renamed["data"]["number"]["id"] == number.pk
    assert (renamed["data"]["number"]["voice_agent_id"], renamed["data"]["number"]["voice_agent_name"]) == (
        agent_id,
        "Sales EU",
    )
    assert unassigned["type"] == "number.unassigned"
    assert unassigned["data"]["event"]["before"] == {"id": agent_id, "name": "Sales EU"}
    assert unassigned["data"]["number"]["voice_agent_id"] is None
    assert unassigned["data"]["number"]["voice_agent_name"] is None


def test_every_message_of_a_transaction_queues_one_task(account, make_number, insecure):
    from django_tasks_db.models import DBTaskResult

    services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    services.endpoint_create(account=account, url="http://127.0.0.1:9/other")
    before = DBTaskResult.objects.count()
    numbers = [make_number(account) for _ in range(3)]
    number_services.number_bulk_update(actor=ACTOR, account=account, ids=[n.pk for n in numbers], status="inactive")
    assert WebhookMessage.objects.count() == 6
    # The test runs in one transaction: one task for all its messages.
    assert DBTaskResult.objects.count() - before == 1
    assert DBTaskResult.objects.latest("enqueued_at").task_path == "webhooks_app.tasks.deliver_webhooks"


CORE = ["models", "services", "selectors", "filters", "outbox", "delivery", "signing", "ssrf", "tasks"]
FACES = ("rest_framework", "django.http", "django.shortcuts", "webhooks_app.api", "webhooks_app.views")


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_face(module):
    source = (Path(__file__).resolve().parents[2] / "webhooks_app" / f"{module}.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = [("." * node.level) + (node.module or "")]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            absolute = f"webhooks_app{name}" if name.startswith(".") else name
            assert not absolute.startswith(FACES), (module, name)
