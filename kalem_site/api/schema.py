"""The OpenAPI description of the API (drf-spectacular), made true to what the server does:
the pagination envelope, the error envelope on every status an operation can answer with,
bearer auth, `Idempotency-Key`, partial PUT, and links between operations for stateful
fuzzing."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .errors import ERRORS
from .patterns import IDEMPOTENCY_KEY_REGEX


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted({code for code, _ in ERRORS.values()}))
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Only on validation errors: each offending field or parameter with its messages.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "Error"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "kalem_site.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token of the account: `Authorization: Bearer <token>`.",
        }


class AutoSchema(SpectacularAutoSchema):
    def _is_detail(self) -> bool:
        return "{id}" in self.path

    def _error_statuses(self) -> list[int]:
        """Every error status this operation can answer with (API.md section 2)."""
        # 400: a malformed request (too many parameters…); 422: a query parameter the route does
        # not take, or a bad value of one it does.
        statuses = {400, 401, 422, 429, 500}
        if self._is_detail():
            statuses.add(404)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            statuses |= {403, 409}  # read-only token; a concurrent change (or a retry still running)
        if self.method in ("POST", "PUT", "PATCH"):
            statuses |= {413, 415, 422}
        if self.method == "POST":
            statuses.add(404)  # activate/deactivate of an unknown number
        statuses |= getattr(self.view, "schema_error_statuses", {}).get(getattr(self.view, "action", None), set())
        return sorted(statuses)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            response = self._get_response_for_code(ErrorSerializer, str(status), direction=direction)
            code, message = ERRORS[status]
            response["description"] = f"`{code}`: {message}"
            responses.setdefault(str(status), response)
        return responses

    def get_summary(self):
        """ "List numbers", "Create a SIP trunk"… from the view's `object_names`."""
        singular, plural = getattr(self.view, "object_names", ("object", "objects"))
        action = getattr(self.view, "action", None)
        summaries = {
            "list": f"List {plural}",
            "create": f"Create a {singular}",
            "retrieve": f"Get a {singular}",
            "update": f"Update a {singular} (partial, like PATCH)",
            "partial_update": f"Update a {singular}",
            "destroy": f"Delete a {singular}",
        }
        return summaries.get(action) or super().get_summary()

    def _get_request_body(self, direction="request"):
        # PUT is partial here, exactly like PATCH: document it with PATCH's (all-optional) body.
        if self.method != "PUT":
            return super()._get_request_body(direction)
        self.method = "PATCH"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "PUT"

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method == "POST":
            parameters.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    pattern=IDEMPOTENCY_KEY_REGEX,
                    description=(
                        "Makes a retry safe: the first response is stored for 24 hours and replayed to "
                        "a retry with the same key and body; the same key with another body is a 422, "
                        "and a retry while the first is still running is a 409."
                    ),
                )
            )
        return parameters


def finish_paths(result, generator, request, public):
    """Paths as the contract writes them (no trailing slash; one is accepted too), and links
    from each create (201) to the get, update and delete of what it created, and from a 202 to
    the job it accepted, so a stateful fuzzer can follow them."""
    paths = {path.rstrip("/"): operations for path, operations in result.get("paths", {}).items()}
    result["paths"] = paths
    for path, operations in paths.items():
        accepted = operations.get("post", {}).get("responses", {}).get("202")
        job = paths.get(f"{path.rstrip('/')}/{{job_id}}", {}).get("get")
        if accepted is not None and job is not None:
            # A 202's job (a bulk action by filter) to its poll.
            accepted["links"] = {
                "GetAccepted": {"operationId": job["operationId"], "parameters": {"job_id": "$response.body#/id"}}
            }
        create = operations.get("post", {}).get("responses", {}).get("201")
        detail = paths.get(f"{path.rstrip('/')}/{{id}}")
        if create is None or detail is None:
            continue
        links = {}
        for method, name in (("get", "Get"), ("put", "Update"), ("patch", "PartialUpdate"), ("delete", "Delete")):
            if method in detail:
                links[f"{name}Created"] = {
                    "operationId": detail[method]["operationId"],
                    "parameters": {"id": "$response.body#/id"},
                }
        create["links"] = links
    _close_response_objects(result.get("components", {}).get("schemas", {}))
    return result


def _close_response_objects(schemas: dict) -> None:
    """The objects the API returns always carry exactly their keys (API.md: "exactly these
    keys"), so the schema says every key is required and no other key appears."""
    for name, schema in schemas.items():
        if name.endswith("Request") or name.startswith("Paginated") or name in {"Error", "ErrorDetail"}:
            continue
        if schema.get("type") == "object" and "properties" in schema:
            schema["required"] = [key for key, prop in schema["properties"].items() if not prop.get("writeOnly")]
            schema["additionalProperties"] = False
