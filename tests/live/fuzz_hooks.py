"""Schemathesis hooks for the fuzz run (loaded through SCHEMATHESIS_HOOKS).

Real clients make a fresh Idempotency-Key for every new request. Hypothesis, though, replays
identical examples, so a generated key can come back with the same body long after the
object it created was deleted; the server then rightly replays the stored 201, and the
stateful checks would look for an object that is gone. So every *valid* generated key is
made unique here. Invalid keys are left as generated, so the negative checks still see the
server refuse them."""

import re
import uuid

import schemathesis

from kalem_site.api.patterns import IDEMPOTENCY_KEY_REGEX

_VALID_KEY = re.compile(IDEMPOTENCY_KEY_REGEX)


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and _VALID_KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
