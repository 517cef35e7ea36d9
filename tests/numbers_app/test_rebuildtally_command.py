"""`rebuildtally` recomputes NumberTally from the numbers: after any mix of writes it finds
exactly what the triggers kept, and it repairs a tally that was damaged."""

from collections import Counter
from io import StringIO

from django.core.management import call_command

from agents_app.services import agent_delete
from numbers_app import services
from numbers_app.imports import number_import, read_rows
from numbers_app.models import NumberFacetCount, NumberTally, PhoneNumber
from numbers_app.selectors import number_routing
from numbers_app.tally import TALLY_KEY, tally_counts
from tests.audit import TEST_ACTOR


def rebuild() -> str:
    out = StringIO()
    call_command("rebuildtally", stdout=out)
    return out.getvalue()


def counted_from_numbers() -> dict:
    """The combinations and the facet counts, counted in Python from the numbers."""
    counts = Counter()
    for number in PhoneNumber.objects.all():
        row = [getattr(number, column) for column in TALLY_KEY]
        counts[(*row[:3], *(pk or 0 for pk in row[3:]))] += 1
        account = number.account_id
        counts[(account, "total", "")] += 1
        counts[(account, "status", number.status)] += 1
        counts[(account, "provider", number.provider)] += 1
        for facet in ("voice_agent_id", "text_agent_id", "trunk_id"):
            counts[(account, facet, str(getattr(number, facet) or "none"))] += 1
        counts[(account, "routable", "true" if number_routing(number)[0] else "false")] += 1
    return dict(counts)


def test_a_rebuilt_tally_equals_the_one_the_triggers_kept(
    account, other_account, make_number, make_voice_agent, make_text_agent, make_trunk
):
    voice, text, trunk = make_voice_agent(account), make_text_agent(account), make_trunk(account)
    doomed = make_voice_agent(account)
    numbers = [
        services.number_create(actor=TEST_ACTOR, account=account, number=f"+1555010{i:04d}", voice_agent=doomed)
        for i in range(8)
    ]
    make_number(other_account, status="inactive")
    services.number_update(actor=TEST_ACTOR, number=numbers[0], status="inactive", provider="twilio")
    services.number_update(actor=TEST_ACTOR, number=numbers[1], text_agent=text, trunk=trunk)
    services.number_bulk_update(actor=TEST_ACTOR, account=account, ids=[n.id for n in numbers[2:6]], voice_agent=voice)
    services.number_bulk_update(actor=TEST_ACTOR, account=account, ids=[n.id for n in numbers[3:5]], status="inactive")
    services.number_bulk_delete(actor=TEST_ACTOR, account=account, ids=[numbers[6].id])
    services.number_delete(actor=TEST_ACTOR, number=numbers[2])
    agent_delete(actor=TEST_ACTOR, agent=doomed)  # unassigns numbers[7]
    _, rows = read_rows(f"number,status,trunk\n+15550200001,inactive,{trunk.name}\n{numbers[5].number},active,\n")
    list(number_import(actor=TEST_ACTOR, account=account, rows=rows))
    kept = tally_counts()
    assert kept == counted_from_numbers()
    assert len(kept) >= 5
    # The facet rows are part of it: both accounts' totals, routable or not, every value.
    assert kept[(account.id, "total", "")] == PhoneNumber.objects.filter(account=account).count()
    assert kept[(other_account.id, "total", "")] == 1
    assert {key[2] for key in kept if key[:2] == (account.id, "routable")} == {"true", "false"}

    assert rebuild() == "Tally rebuilt: every count was already right.\n"

    assert tally_counts() == kept


def test_it_repairs_a_damaged_tally(account, make_number, make_trunk):
    trunk = make_trunk(account)
    make_number(account)
    make_number(account, trunk=trunk)
    make_number(account, status="inactive")
    kept = tally_counts()
    NumberTally.objects.filter(account=account, trunk_id=trunk.id).update(count=40)
    NumberTally.objects.filter(account=account, status="inactive").delete()
    NumberTally.objects.create(
        account=account, status="active", provider="twilio", voice_agent_id=0, text_agent_id=0, trunk_id=0, count=3
    )
    NumberFacetCount.objects.filter(account=account, facet="total").update(count=9)
    NumberFacetCount.objects.filter(account=account, facet="trunk_id", value="none").delete()

    assert rebuild() == "Tally rebuilt: 5 rows had a wrong count and were corrected.\n"

    assert tally_counts() == kept == counted_from_numbers()
    # The list's total reads the tally: it is right again.
    assert sum(NumberTally.objects.filter(account=account).values_list("count", flat=True)) == 3
