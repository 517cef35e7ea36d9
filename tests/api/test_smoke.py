def test_the_owner_lists_numbers_in_the_envelope(api, account, make_number):
    number = make_number(account)
    response = api.get("/api/v1/numbers")
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["data"]] == [number.id]
    assert body["meta"]["total"] == 1
