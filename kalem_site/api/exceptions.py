"""One exception handler that turns every error of an API view into the error envelope."""

import logging

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from .errors import RETRY_AFTER_SECONDS, error_body, server_error_parts

logger = logging.getLogger("kalem_site.api")

# Messages for DRF's exceptions whose own text does not read well to an API user.
_STATUS_MESSAGES = {
    status.HTTP_404_NOT_FOUND: None,  # the envelope's default
    status.HTTP_405_METHOD_NOT_ALLOWED: None,
}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicted with a concurrent change and was not applied; retry it."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable; retry shortly."
    default_code = "service_unavailable"


# The database cannot be reached, or did not answer in time (a connect or statement timeout):
# the request may be retried, and nothing it did was committed unless it says so.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def _printable(text) -> str:
    # Some messages quote the input ('"…" is not a valid choice.'); a lone surrogate from a
    # JSON "\ud800" escape cannot be encoded as UTF-8 and would turn the 422 into a 500.
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def _as_messages(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _as_messages(value)]
    if isinstance(detail, (list, tuple)):
        return [message for item in detail for message in _as_messages(item)]
    return [_printable(detail)]


def validation_fields(detail) -> dict[str, list[str]]:
    """Field → list of messages, whatever shape DRF or Django gave the errors in."""
    if isinstance(detail, DjangoValidationError):
        detail = detail.message_dict if hasattr(detail, "error_dict") else detail.messages
    if isinstance(detail, dict):
        return {
            ("non_field_errors" if field == "__all__" else str(field)): _as_messages(messages)
            for field, messages in detail.items()
        }
    return {"non_field_errors": _as_messages(detail)}


def api_exception_handler(exc: Exception, context: dict) -> Response:
    headers = {}
    if isinstance(exc, (exceptions.ValidationError, DjangoValidationError)):
        detail = exc.detail if isinstance(exc, exceptions.ValidationError) else exc
        return Response(error_body(422, fields=validation_fields(detail)), status=422)
    if isinstance(exc, (Http404, ObjectDoesNotExist)):  # the latter: deleted while this request ran
        exc = exceptions.NotFound()
    elif isinstance(exc, IntegrityError):
        # A concurrent change broke a database rule this request relied on, e.g. the agent it
        # assigns was deleted before the commit: nothing was written, and a retry will say why.
        exc = Conflict()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # e.g. more query parameters than allowed
        exc = exceptions.ParseError("The request is malformed.")
    elif isinstance(exc, UNAVAILABLE_ERRORS):
        logger.warning("Database unavailable: %s", exc)
        exc = ServiceUnavailable()
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)

    if not isinstance(exc, exceptions.APIException):
        body, headers = server_error_parts(context.get("request"), exc_info=True)
        return Response(body, status=500, headers=headers)

    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        exc.status_code = status.HTTP_401_UNAUTHORIZED
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    message = None if exc.status_code in _STATUS_MESSAGES else str(exc.detail)
    return Response(error_body(exc.status_code, message), status=exc.status_code, headers=headers)
