"""Floors for the benchmark: what the fastest possible Django views do with the same data.

Mounted only when settings.BENCH_FLOORS is on (bench/run.py sets it), never in production.
- F1 returns precomputed JSON bytes of a 100-row page: Django's own cost per request.
- F2 runs one raw SQL query for the same 100 rows and encodes them with orjson: the cost of
  the data itself, with no ORM, serializer or framework.
"""

import orjson
from django.db import connection
from django.http import HttpResponse

from kalem_site.accounts.models import Account

_F1_BODY: bytes | None = None

_PAGE_SQL = """
SELECT n.id, n.number, n.provider, n.status,
       n.voice_agent_id, v.name, n.text_agent_id, t.name, n.trunk_id, s.name,
       n.created_at, n.updated_at
FROM numbers_app_phonenumber n
LEFT JOIN agents_app_voiceagent v ON v.id = n.voice_agent_id
LEFT JOIN agents_app_textagent t ON t.id = n.text_agent_id
LEFT JOIN numbers_app_siptrunk s ON s.id = n.trunk_id
WHERE n.account_id = %s
ORDER BY n.id
LIMIT 100
"""

_KEYS = (
    "id", "number", "provider", "status", "voice_agent_id", "voice_agent_name",
    "text_agent_id", "text_agent_name", "trunk_id", "trunk_name", "created_at", "updated_at",
)  # fmt: skip


def _bench_account_id() -> int:
    return Account.objects.get(name="Bench").id


def _page_rows() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(_PAGE_SQL, [_bench_account_id()])
        rows = cursor.fetchall()
    data = []
    for row in rows:
        item = dict(zip(_KEYS, row, strict=True))
        item["created_at"] = item["created_at"].replace(microsecond=0).isoformat()
        item["updated_at"] = item["updated_at"].replace(microsecond=0).isoformat()
        data.append(item)
    return data


def f1_precomputed(request):
    global _F1_BODY
    if _F1_BODY is None:
        _F1_BODY = orjson.dumps({"data": _page_rows()})
    return HttpResponse(_F1_BODY, content_type="application/json")


def f2_raw_sql(request):
    return HttpResponse(orjson.dumps({"data": _page_rows()}), content_type="application/json")
