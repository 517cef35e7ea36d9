import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from .exceptions import PayloadTooLarge


class JSONObjectParser(parsers.JSONParser):
    """UTF-8 JSON bodies holding one JSON object; bodies over the configured size are refused.

    The whole body is read (up to the limit) before decoding, so the limit holds whatever the
    Content-Length claims. (Chunked bodies without a Content-Length are refused earlier, by
    AccountScopedViewSet.initial.)"""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge()
        try:
            data = json.loads(body.decode("utf-8"), parse_constant=strict_constant)
        except UnicodeDecodeError:
            raise ParseError("The request body is not valid UTF-8.") from None
        except ValueError as error:
            raise ParseError(f"The request body is not valid JSON: {error}.") from None
        except RecursionError:
            raise ParseError("The JSON body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise ParseError("The request body must be a JSON object.")
        return data
