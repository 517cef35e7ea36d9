"""Fixtures of the dashboard suite."""

import pytest

from numbers_app.models import SipTrunk
from tests.helpers import TRUNK_PASSWORD


@pytest.fixture
def digest_trunk(account, make_trunk) -> SipTrunk:
    """An outbound digest trunk whose password (TRUNK_PASSWORD) no page may show."""
    return make_trunk(
        account,
        "Carrier",
        direction="outbound",
        auth_type="digest",
        host="",
        username="kalem_out",
        password=TRUNK_PASSWORD,
        outbound_server="sip.carrier.example:5060",
    )
