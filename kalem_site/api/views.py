"""Shared plumbing of the API views."""

import sys

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotFound, ParseError, ValidationError

from kalem_site.accounts.models import Account, ApiToken
from kalem_site.actors import Actor
from kalem_site.ids import id_in_range

from .errors import RETRY_AFTER_SECONDS, error_response, server_error_parts, unavailable_response
from .exceptions import UNAVAILABLE_ERRORS


class AccountScopedGenericViewSet(viewsets.GenericViewSet):
    """The objects of the token's account.

    Subclasses build `get_queryset()` from `self.account`, so no query can reach another
    account's rows; objects of other accounts are then 404 like objects that do not exist."""

    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    @property
    def account(self) -> Account:
        return self.request.auth.account

    @property
    def actor(self) -> Actor:
        """Who the audit timeline names for this request's changes: the token."""
        return Actor.for_token(self.request.auth)

    def read_with_token(self, digest: str) -> ApiToken | None:
        """The token with this digest (usable or not), read in one query with the row this
        request's action needs, which the action then uses instead of reading it again;
        called by the authentication (kalem_site.api.authentication) before the action runs.
        None when the action reads no row this way, or when the query found nothing: the token
        is then read alone. Here: no action does."""
        return None

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if self.request is not None and self.request.auth is not None:
            context["account"] = self.account
        return context

    # Query parameters each action takes besides the list's filters and pagination.
    extra_query_params: dict[str, set[str]] = {}

    def query_params_taken(self) -> set[str]:
        taken = set(self.extra_query_params.get(self.action, ()))
        if self.action == "list":
            taken |= {"page", "per_page", *self.filterset_class.base_filters}
        return taken

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        if self.action is None:
            return  # a method this route does not have: the view answers 405
        # A parameter the route does not take is an error, not silently ignored: a misspelt
        # filter (`?statuss=active`) would otherwise return every row.
        unknown = sorted(set(request.query_params) - self.query_params_taken())
        if unknown:
            raise ValidationError({name or "(empty name)": ["Unknown query parameter."] for name in unknown})
        # Django reads a body only up to its Content-Length; a chunked body without one would
        # be silently dropped, and the write would run as if nothing had been sent.
        chunked = request.META.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
        if chunked and not request.META.get("CONTENT_LENGTH") and request.method in ("POST", "PUT", "PATCH"):
            raise ParseError("Send the body with a Content-Length header; chunked bodies are not accepted.")

    def filter_queryset(self, queryset):
        # Query-parameter filters belong to the list; a single object is found by its id alone
        # (and building a FilterSet for it would be wasted work on every request).
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_object(self):
        if id_in_range(self.kwargs[self.lookup_field]) is None:
            raise NotFound()
        return super().get_object()


class AccountScopedViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    AccountScopedGenericViewSet,
):
    """CRUD on the objects of the token's account."""

    def get_success_headers(self, data) -> dict:
        # Location of the created object: the collection's URL plus its id.
        return {"Location": self.request.build_absolute_uri(f"{self.request.path.rstrip('/')}/{data['id']}")}

    def update(self, request, *args, **kwargs):
        # PUT is partial, as on kalem.me: only the fields sent change.
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Unknown routes under /api/ answer in the error envelope, not with an HTML page."""
    return error_response(404)


def not_found_handler(request, exception=None):
    if request.path.startswith("/api/"):
        return error_response(404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def bad_request_handler(request, exception=None):
    """Django's own 400s (too many query parameters, a suspicious request) in the envelope."""
    if request.path.startswith("/api/"):
        return error_response(400, "The request is malformed.")
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def server_error_handler(request):
    # Django calls this handler while it handles the exception: an unreachable database
    # (in a middleware, or a view outside DRF) is a 503 to retry, not a 500.
    if isinstance(sys.exc_info()[1], UNAVAILABLE_ERRORS):
        if request.path.startswith("/api/"):
            return unavailable_response()
        from django.template import loader

        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if request.path.startswith("/api/"):
        # Django logs the traceback itself (django.request); this line ties it to the id.
        body, headers = server_error_parts(request, exc_info=False)
        return JsonResponse(body, status=500, headers=headers)
    from django.views.defaults import server_error

    return server_error(request)
