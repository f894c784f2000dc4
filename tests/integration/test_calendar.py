async def test_due_endpoint_needs_no_login_and_counts_make_up_days(client):
    resp = await client.get("/api/v1/calendar/due", params={"start": "2026-02-13T10:00:00+08:00",
                                                              "working_days": "1"})
    body = await resp.json()
    assert resp.status == 200, body
    assert body == {"due_at": "2026-02-14T23:59:59+08:00", "working_days": 1, "provisional": False}


async def test_due_endpoint_reads_a_naive_time_as_beijing_time(client):
    body = await (await client.get("/api/v1/calendar/due", params={"start": "2026-09-30T18:00:00",
                                                                    "working_days": "1"})).json()
    assert body["due_at"] == "2026-10-08T23:59:59+08:00"


async def test_bad_calendar_input_is_422_in_chinese(client):
    resp = await client.get("/api/v1/calendar/due", params={"start": "yesterday", "working_days": "-1"})
    details = {d["field"]: d["message"] for d in (await resp.json())["error"]["details"]}
    assert resp.status == 422
    assert details == {"start": "应为 ISO 8601 时间", "working_days": "不能小于 0"}
