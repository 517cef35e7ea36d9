"""Request ids: every response carries `X-Request-ID`, and every log line of the request
names it, so a report from a client can be matched to the server's log."""

import logging
import re
import threading
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
# A client's own id is kept when it is short and plain; anything else is replaced.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

_local = threading.local()


def current_request_id() -> str | None:
    return getattr(_local, "request_id", None)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        client_id = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = client_id if _VALID_REQUEST_ID.fullmatch(client_id) else uuid.uuid4().hex
        _local.request_id = request.request_id
        try:
            response = self.get_response(request)
        finally:
            _local.request_id = None
        response[REQUEST_ID_HEADER] = request.request_id
        return response
