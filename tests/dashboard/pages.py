"""Small helpers for reading dashboard responses."""

from urllib.parse import quote

from django.contrib.messages import get_messages


def flashes(response) -> list[str]:
    """The flash messages queued by the request (not yet shown), as text."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def assert_login_redirect(response, path: str) -> None:
    """Anonymous visitors are sent to the sign-in page, which brings them back afterwards."""
    assert response.status_code == 302, response.content
    assert response["Location"] == f"/login/?next={quote(path)}"


def html(response) -> str:
    return response.content.decode()


def fill_account(account, rows, make_number, make_voice_agent, make_text_agent, make_trunk) -> None:
    """`rows` numbers, each with its own agents and trunk, so that every column and every
    filter choice has something different to show."""
    for _ in range(rows):
        make_number(
            account,
            voice_agent=make_voice_agent(account),
            text_agent=make_text_agent(account),
            trunk=make_trunk(account),
        )
