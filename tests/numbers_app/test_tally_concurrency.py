"""Concurrent writers and the tally triggers (PostgreSQL): each statement's trigger locks the
combination rows, then the facet rows, each in key order, so writers that move numbers
between the same values in opposite directions, one statement per transaction as every
service writes, queue instead of deadlocking, and the counts
are exact afterwards. Each thread writes only its own numbers: any lock they share is a
tally row's."""

import random
import threading

import pytest
from django.db import connections

from numbers_app.models import PhoneNumber
from tests.numbers_app.test_number_tally import assert_exact

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

THREADS = 8
ROUNDS = 12


def test_concurrent_bulk_writes_neither_deadlock_nor_miscount(
    account, other_account, make_number, make_voice_agent, make_trunk
):
    agents = [make_voice_agent(account) for _ in range(2)]
    trunks = [make_trunk(account) for _ in range(2)]
    owned = [[make_number(account).pk for _ in range(6)] for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    errors = []

    def write(index: int):
        rng = random.Random(index)
        mine = owned[index]
        try:
            barrier.wait(timeout=20)
            for round_ in range(ROUNDS):
                # One statement per transaction (what every service's write is): numbers
                # moving between shared values, in directions that differ between threads.
                PhoneNumber.objects.filter(pk__in=rng.sample(mine, 4)).update(
                    status=rng.choice(["active", "inactive"]),
                    provider=rng.choice(["manual", "twilio"]),
                    voice_agent=rng.choice([None, *agents]),
                    trunk=rng.choice([None, *trunks]),
                )
                if round_ % 4 == 3:
                    created = PhoneNumber.objects.create(
                        account=account, number=f"+1555{index:02d}{round_:02d}0001", trunk=trunks[index % 2]
                    )
                    PhoneNumber.objects.filter(pk=created.pk).delete()
        except Exception as error:  # reported below: a thread cannot fail the test itself
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    assert_exact()
