from rest_framework.negotiation import DefaultContentNegotiation


class AlwaysJSON(DefaultContentNegotiation):
    """The API answers in JSON whatever the client's Accept header asks for (API.md §1: JSON
    in, JSON out), rather than refusing with 406. Parsers are still chosen by Content-Type."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
