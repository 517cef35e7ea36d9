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
from webhooks_app import outbox, services
from webhooks_app.models import WebhookMessage, WebhookOutbox

pytestmark = pytest.mark.django_db
ACTOR = Actor.for_command("test")


def bodies() -> list[dict]:
    """The bodies the messages will be sent with, made and built as a worker makes them."""
    while outbox.expand_outbox():
        pass
    messages = list(WebhookMessage.objects.order_by("event_id"))
    outbox.fill_payloads(messages)
    return [
        orjson.loads(payload)
        for payload in WebhookMessage.objects.order_by("event_id").values_list("payload", flat=True)
    ]


def test_the_transaction_writes_no_body_and_the_first_claim_builds_it_once(account, make_number, insecure):
    number = make_number(account)
    services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    number_services.number_bulk_update(actor=ACTOR, account=account, ids=[number.pk], status="inactive")
    assert not WebhookMessage.objects.exists() and WebhookOutbox.objects.count() == 1
    assert outbox.expand_outbox() == 1 and not WebhookOutbox.objects.exists()
    message = WebhookMessage.objects.get()
    assert message.payload is None and message.message_id.startswith("msg_") and len(message.message_id) == 36
    (body,) = bodies()
    sent = WebhookMessage.objects.get().payload
    outbox.fill_payloads(list(WebhookMessage.objects.all()))  # a later claim: the same bytes
    assert WebhookMessage.objects.get().payload == sent
    assert body["type"] == "number.deactivated" and body["data"]["number"]["status"] == "inactive"


def test_the_body_shows_the_number_as_it_stood_after_its_change_not_as_it_is_when_sent(
    account, make_number, make_voice_agent, insecure
):
    sales, support = make_voice_agent(account, "Sales"), make_voice_agent(account, "Support")
    number = make_number(account)
    services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    number_services.number_bulk_update(actor=ACTOR, account=account, ids=[number.pk], voice_agent=sales)
    number_services.number_bulk_update(actor=ACTOR, account=account, ids=[number.pk], voice_agent=support)
    agent_services.agent_update(actor=ACTOR, agent=support, name="Support EU")
    number_services.number_bulk_update(actor=ACTOR, account=account, ids=[number.pk], status="inactive")
    number_services.number_delete(actor=ACTOR, number=number)
    shown = [
        (body["type"], body["data"]["number"] and body["data"]["number"]["voice_agent_name"],
         body["data"]["number"] and body["data"]["number"]["status"])
        for body in bodies()
    ]  # fmt: skip
    assert shown == [
        ("number.assigned", "Sales", "active"),
        ("number.assigned", "Support", "active"),
        ("number.renamed", "Support EU", "active"),
        ("number.deactivated", "Support EU", "inactive"),
        ("number.deleted", None, None),
    ]


def test_old_snapshots_are_pruned_with_the_messages_that_needed_them(account, make_number, insecure):
    from webhooks_app.models import NumberSnapshot

    numbers = [make_number(account) for _ in range(2)]
    services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    number_services.number_bulk_update(actor=ACTOR, account=account, ids=[numbers[0].pk], status="inactive")
    number_services.number_bulk_update(actor=ACTOR, account=account, ids=[numbers[1].pk], status="inactive")
    assert NumberSnapshot.objects.count() == 2
    assert outbox.prune_snapshots() == 0  # their outbox rows still wait for a worker
    outbox.expand_outbox()
    WebhookMessage.objects.filter(pk=WebhookMessage.objects.order_by("id").first().pk).delete()
    assert outbox.prune_snapshots() == 1
    assert list(NumberSnapshot.objects.values_list("event_id", flat=True)) == list(
        WebhookMessage.objects.values_list("event_id", flat=True)
    )


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
    assert WebhookOutbox.objects.count() == 2  # one row per endpoint
    outbox.expand_outbox()
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


def test_a_backlog_asks_for_one_more_run_so_other_workers_join(account, make_number, insecure, settings):
    from django_tasks_db.models import DBTaskResult

    from webhooks_app.tasks import deliver_webhooks

    settings.WEBHOOK_RETRY_DELAYS = [0]  # refused once, then failed: no retry runs queued
    services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    numbers = [make_number(account) for _ in range(120)]
    number_services.number_bulk_update(actor=ACTOR, account=account, ids=[n.pk for n in numbers], status="inactive")

    def waiting() -> int:
        return DBTaskResult.objects.ready().filter(task_path="webhooks_app.tasks.deliver_webhooks").count()

    assert waiting() == 1  # the change's own run
    DBTaskResult.objects.all().delete()
    assert deliver_webhooks.call() == 1 + 120  # the outbox row expanded, its 120 messages sent
    assert waiting() == 1  # a full round asked for one more run
    assert WebhookMessage.objects.filter(status="failed").count() == 120
    assert deliver_webhooks.call() == 0 and waiting() == 1  # nothing to do: nobody asked again


def test_a_lone_message_asks_for_no_help(account, make_number, insecure, settings):
    from django_tasks_db.models import DBTaskResult

    from webhooks_app.tasks import deliver_webhooks

    settings.WEBHOOK_RETRY_DELAYS = [0]
    services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    number_services.number_bulk_update(actor=ACTOR, account=account, ids=[make_number(account).pk], status="inactive")
    DBTaskResult.objects.all().delete()
    assert deliver_webhooks.call() == 2
    assert not DBTaskResult.objects.exists()
