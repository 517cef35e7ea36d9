"""The benchmark's floors (bench/run.py): for each measured endpoint, a middleware-free Django
app that answers exactly the bytes that endpoint answered when the run started.

Served by gunicorn under the same gunicorn.conf.py as the app (`gunicorn bench.floors:application`),
so an endpoint's share of its floor is what its own work (middleware, authentication, queries,
shaping) costs against Django and gunicorn serving the same response: 100 % is an endpoint that
costs nothing. The captured responses come from the file named by BENCH_FLOOR_BODIES (JSON:
key → status, content type, base64 body); `/floor/<key>/…` answers key's, whatever the method,
the rest of the path, the query or the body.

Never part of the service: its own settings, no apps, no database, no middleware.
"""

import base64
import json
import os

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-floors",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
    USE_I18N=False,
    LOGGING_CONFIG=None,
    # The bodies of PUT and POST are not read (the floor does not parse them), but Django must
    # not refuse them either.
    DATA_UPLOAD_MAX_MEMORY_SIZE=None,
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import re_path  # noqa: E402


def _load() -> dict:
    path = os.environ.get("BENCH_FLOOR_BODIES")
    if not path:
        return {}
    return {
        key: (value["status"], value["content_type"], base64.b64decode(value["body"]))
        for key, value in json.loads(open(path).read()).items()
    }


BODIES = _load()


def floor(request, key: str):
    status, content_type, body = BODIES[key]
    return HttpResponse(body, status=status, content_type=content_type)


urlpatterns = [re_path(r"^floor/(?P<key>[a-z_]+)(?:/.*)?$", floor)]

application = get_wsgi_application()
