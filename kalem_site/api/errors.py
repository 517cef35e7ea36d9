"""The API's error envelope: `{"error": {"code", "message", "fields"?}}`, built in one place."""

import logging
import uuid

from django.http import JsonResponse

from kalem_site.middleware import REQUEST_ID_HEADER

logger = logging.getLogger("kalem_site.api")

# Status → (code, default message). The codes are part of the API contract.
ERRORS = {
    400: ("bad_request", "The request body is not a valid JSON object."),
    401: ("unauthenticated", "Authentication credentials were missing or invalid."),
    403: ("forbidden", "This token does not have permission to perform this action."),
    404: ("not_found", "The requested resource was not found."),
    405: ("method_not_allowed", "This method is not allowed on this resource."),
    409: ("conflict", "The request conflicts with another request in progress."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the request body as application/json."),
    422: ("validation_error", "The given data was invalid."),
    429: ("rate_limited", "Too many requests."),
    500: ("server_error", "Something went wrong on our side."),
    503: ("service_unavailable", "The service is temporarily unavailable; retry shortly."),
}

# What a 503 tells the client to wait before retrying (the database is back within seconds
# of returning: a broken connection is discarded and the next request opens a new one).
RETRY_AFTER_SECONDS = 5


def error_body(status: int, message: str | None = None, fields: dict | None = None) -> dict:
    code, default_message = ERRORS.get(status, ERRORS[500] if status >= 500 else ERRORS[400])
    error = {"code": code, "message": message or default_message}
    if fields is not None:
        error["fields"] = fields
    return {"error": error}


def error_response(status: int, message: str | None = None, fields: dict | None = None) -> JsonResponse:
    """For plain Django views (unknown routes, 404/500 handlers); DRF views go through
    `exceptions.api_exception_handler`, which builds the same body."""
    return JsonResponse(error_body(status, message, fields), status=status)


def unavailable_response() -> JsonResponse:
    """503 `service_unavailable` with Retry-After, for a plain Django view or handler."""
    return JsonResponse(error_body(503), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def server_error_parts(request, *, exc_info: bool) -> tuple[dict, dict]:
    """Log an unexpected error under the request's id (see kalem_site.middleware), and return
    the 500 body and headers that hand the same id to the client, so a report can be matched
    to the log."""
    request_id = getattr(request, "request_id", None) or uuid.uuid4().hex
    log = logger.exception if exc_info else logger.error
    log(
        "Unhandled error in %s %s (request id %s)",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        request_id,
    )
    message = f"Something went wrong on our side. Quote request id {request_id} when reporting it."
    return error_body(500, message), {REQUEST_ID_HEADER: request_id}
