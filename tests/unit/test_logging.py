import io
import json
import logging

import structlog

from server.logging import configure


def test_logs_are_json_lines_without_phone_numbers_or_tokens(capsys):
    configure("INFO")
    log = structlog.get_logger("t")
    structlog.contextvars.bind_contextvars(request_id="r-1")
    log.info("registered", note="联系人 13826540917 已登记", contact_phone="13826540917",
             header="Bearer abc.def-123")
    structlog.contextvars.clear_contextvars()
    line = capsys.readouterr().out.strip().splitlines()[-1]
    event = json.loads(line)
    assert event["request_id"] == "r-1" and event["event"] == "registered"
    assert "13826540917" not in line and "abc.def-123" not in line
    assert event["contact_phone"] == "***"
    assert event["note"] == "联系人 1********** 已登记"
