"""Assertions on the API's error envelope, shared by the cross-cutting API tests."""


def assert_error(response, status: int, code: str) -> dict:
    """The response is JSON, has exactly `status`, and its body is the error envelope with
    `code`. Returns the `error` object for further checks."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    expected_keys = {"code", "message", "fields"} if code == "validation_error" else {"code", "message"}
    assert set(error) == expected_keys, error
    return error
