"""Who made a change, and through what. Every write that the audit timeline records is
given an Actor by its caller: the API view, the dashboard view, the admin, the command."""

from dataclasses import dataclass

from django.db import models


class Channel(models.TextChoices):
    API = "api", "API"
    DASHBOARD = "dashboard", "Dashboard"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Command"
    IMPORT = "import", "Import"


class ActorType(models.TextChoices):
    USER = "user", "User"
    TOKEN = "token", "API token"
    # A management command run from a shell: no signed-in person, the command names itself.
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Actor:
    type: str
    name: str
    channel: str

    @classmethod
    def for_user(cls, user, channel: str) -> "Actor":
        return cls(ActorType.USER, user.get_username(), channel)

    @classmethod
    def for_token(cls, token) -> "Actor":
        return cls(ActorType.TOKEN, token.name, Channel.API)

    @classmethod
    def for_command(cls, command: str, channel: str = Channel.COMMAND) -> "Actor":
        return cls(ActorType.SYSTEM, command, channel)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()})"

    def get_channel_display(self) -> str:
        return Channel(self.channel).label


def admin_actor(request) -> Actor:
    """Who the audit timeline names for a change made in the Django admin: the staff user."""
    return Actor.for_user(request.user, Channel.ADMIN)
