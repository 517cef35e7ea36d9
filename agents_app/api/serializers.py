from rest_framework import serializers

from kalem_site.api.fields import StrictCharField, TimestampField


class AgentSerializer(serializers.Serializer):
    """The Agent object, the same for voice and text agents."""

    id = serializers.IntegerField(read_only=True)
    name = StrictCharField(max_length=100)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True)
    numbers_count = serializers.SerializerMethodField()
    created_at = TimestampField()
    updated_at = TimestampField()

    def get_numbers_count(self, agent) -> int:
        # Annotated by the list and detail queries; a just-created agent has no numbers.
        return getattr(agent, "numbers_count", 0)
