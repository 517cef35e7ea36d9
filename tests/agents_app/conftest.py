"""Every agent test runs once per kind (voice, text): `kind` says which, and `make_agent` /
`make_other_agent` make one of that kind / of the other kind."""

import pytest

from .kinds import KINDS, Kind


@pytest.fixture(params=KINDS, ids=str)
def kind(request) -> Kind:
    return request.param


@pytest.fixture
def make_agent(request, kind):
    return request.getfixturevalue(kind.factory)


@pytest.fixture
def make_other_agent(request, kind):
    return request.getfixturevalue(kind.other_factory)
