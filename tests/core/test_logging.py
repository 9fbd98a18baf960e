"""Log masking: phones and credentials never reach a log line in clear, wherever they hide in the record."""

import json
import logging
from io import StringIO

import pytest
from pythonjsonlogger.json import JsonFormatter

from mendian.core.logging import MaskPiiFilter, RequestIdFilter, mask_phones_in, request_id_var

PHONE = "13812345678"


@pytest.fixture
def log():
    """A logger wired like settings.LOGGING's console handler; returns (logger, read_lines)."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(MaskPiiFilter())
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"))
    logger = logging.getLogger("mendian.test.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield logger, lines, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    "text",
    [PHONE, "+8613812345678", "+86 138 1234 5678", "138-1234-5678", f"tel:{PHONE};", f"phone={PHONE}&x=1"],
)
def test_phone_shapes_are_masked(text):
    masked = mask_phones_in(text)
    assert "138****5678" in masked and "1234" not in masked


def test_other_numbers_are_left_alone():
    for text in ("order 202611220001234", "amount 12345678901234", "id 23812345678", "12812345678"):
        assert mask_phones_in(text) == text


def test_the_message_and_its_args_are_masked(log):
    logger, lines, stream = log

    logger.info("sms to %s failed", PHONE)
    logger.info(f"inline {PHONE}")

    assert [line["message"] for line in lines()] == ["sms to 138****5678 failed", "inline 138****5678"]
    assert PHONE not in stream.getvalue()


def test_extra_fields_are_masked_even_when_nested(log):
    logger, lines, stream = log
    context = {"customer": {"phone": PHONE, "tags": [f"tel {PHONE}"]}}

    logger.info("login", extra={"phone": PHONE, "context": context})

    line = lines()[0]
    assert line["phone"] == "138****5678"
    assert line["context"] == {"customer": {"phone": "138****5678", "tags": ["tel 138****5678"]}}
    assert PHONE not in stream.getvalue()
    assert context["customer"]["phone"] == PHONE  # the caller's object is not changed


def test_a_dict_message_is_masked(log):
    logger, lines, stream = log

    logger.info({"event": "login", "phone": PHONE})

    assert lines()[0]["phone"] == "138****5678" and PHONE not in stream.getvalue()


def test_tracebacks_are_masked(log):
    logger, lines, stream = log

    try:
        raise ValueError(f"bad phone {PHONE}")
    except ValueError:
        logger.exception("boom")

    assert "bad phone 138****5678" in lines()[0]["exc_info"]
    assert PHONE not in stream.getvalue()


def test_a_broken_format_string_still_logs_masked(log):
    logger, lines, stream = log

    logger.info("two %s %s but one arg", PHONE)

    assert lines()[0]["message"] == "two %s %s but one arg (args: ('138****5678',))"
    assert PHONE not in stream.getvalue()


def test_credentials_in_urls_are_masked(log):
    logger, lines, stream = log

    logger.info(
        'HTTP Request: %s %s "%s"',
        "GET",
        "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=s3cr3t&js_code=abc&grant_type=authorization_code",
        "HTTP/1.1 200 OK",
    )

    message = lines()[0]["message"]
    assert "secret=***" in message and "js_code=***" in message and "appid=wx1" in message
    assert "s3cr3t" not in stream.getvalue()


def test_every_line_carries_the_request_id(log):
    logger, lines, _ = log
    token = request_id_var.set("req-12345678")
    try:
        logger.info("hello")
    finally:
        request_id_var.reset(token)

    assert lines()[0]["request_id"] == "req-12345678"
