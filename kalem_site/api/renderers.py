import datetime
import json

import orjson
from django.utils.functional import Promise
from rest_framework import renderers

from kalem_site.timestamps import format_timestamp

# Datetimes (the Number object's, numbers_app.shapes.number_data) are written by orjson as
# format_timestamp() writes them: whole seconds, with their offset, +00:00 for the UTC values
# the database hands out.
_OPTIONS = orjson.OPT_OMIT_MICROSECONDS


def _default(value):
    if isinstance(value, Promise):  # lazily translated messages
        return str(value)
    if isinstance(value, datetime.datetime):  # the json fallback below
        return format_timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class ORJSONRenderer(renderers.BaseRenderer):
    """JSON with orjson: the same output as DRF's JSONRenderer (UTF-8, compact), several
    times faster on a 100-row page."""

    media_type = "application/json"
    format = "json"
    charset = None  # JSON is UTF-8 by definition

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        try:
            return orjson.dumps(data, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            # orjson stops at 64-bit integers; a client's huge number echoed back (a bulk
            # item's input, say) still gets its answer.
            return json.dumps(data, default=_default, ensure_ascii=False, separators=(",", ":")).encode()
