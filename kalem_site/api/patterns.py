"""Patterns shared by the server and its OpenAPI schema (no Django imports, so tools such as
the fuzzer's hooks can use them too)."""

# An Idempotency-Key: 1 to 255 visible ASCII characters.
IDEMPOTENCY_KEY_REGEX = r"^[\x21-\x7e]{1,255}$"
