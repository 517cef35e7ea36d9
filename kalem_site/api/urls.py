"""The API under /api/v1. Paths have no trailing slash; one is accepted too, without redirect."""

from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from agents_app.api.views import TextAgentViewSet, VoiceAgentViewSet
from numbers_app.api.views import EventViewSet, NumberViewSet, TrunkViewSet
from webhooks_app.api.views import WebhookViewSet

from .errors import error_response
from .views import api_not_found


class OptionalSlashRouter(SimpleRouter):
    """Routes match with and without a trailing slash, so no request is ever redirected."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("numbers", NumberViewSet, basename="number")
router.register("trunks", TrunkViewSet, basename="trunk")
router.register("voice-agents", VoiceAgentViewSet, basename="voice-agent")
router.register("text-agents", TextAgentViewSet, basename="text-agent")
router.register("events", EventViewSet, basename="event")
router.register("webhooks", WebhookViewSet, basename="webhook")

# The schema and its docs are public: they describe the API, they hold no account's data.
public = {"authentication_classes": [], "permission_classes": [AllowAny]}

swagger_ui = SpectacularSwaggerView.as_view(url_name="schema", **public)


@csrf_exempt
def api_docs(request, *args, **kwargs):
    """Swagger UI, the one HTML page under /api/. Any other method than GET gets the API's
    JSON 405, not an HTML error page."""
    if request.method not in ("GET", "HEAD"):
        response = error_response(405)
        response["Allow"] = "GET, HEAD"
        return response
    return swagger_ui(request, *args, **kwargs)


urlpatterns = [
    re_path(r"^v1/schema/?$", SpectacularJSONAPIView.as_view(**public), name="schema"),
    re_path(r"^docs/?$", api_docs, name="api-docs"),
    path("v1/", include(router.urls)),
    re_path(r"^.*$", api_not_found),
]
