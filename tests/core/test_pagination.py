"""Signed cursors: what one page hands out the next page reads back, and nothing else is accepted."""

import base64

import pytest
from django.core import signing
from django.test import override_settings

from mendian.core.errors import ValidationFailed
from mendian.core.pagination import (
    decode_cursor,
    decode_int_cursor,
    encode_cursor,
    offset_from_cursor,
    offset_page,
)


def _flip(cursor: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[index] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


@pytest.mark.parametrize("values", [["sales", 94, 235], ["new", 7], [40], ["价格", -1, 2**62]])
def test_a_cursor_reads_back_what_was_encoded(values):
    cursor = encode_cursor(values)
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor) == values


def test_no_cursor_is_none():
    assert decode_cursor(None) is None
    assert decode_cursor("") is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "garbage",
        "eyJmb28iOiAxfQ",
        "a" * 300,
        "é",
        "====",
        base64.urlsafe_b64encode(b'["new",1]').decode().rstrip("="),  # unsigned JSON
    ],
)
def test_garbled_cursors_are_refused(cursor):
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor)
    assert caught.value.code == "invalid_cursor"
    assert caught.value.errors == [{"loc": ["query", "cursor"], "msg": "invalid"}]


@pytest.mark.parametrize("index", [0, 5, -1, -32])
def test_a_tampered_cursor_is_refused(index):
    cursor = encode_cursor(["sales", 94, 235])
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(_flip(cursor, index))
    assert caught.value.code == "invalid_cursor"


def test_a_cursor_truncated_or_extended_is_refused():
    cursor = encode_cursor(["new", 12345])
    for forged in (cursor[:-1], cursor[:-4], cursor + "A", cursor + "AAAA"):
        with pytest.raises(ValidationFailed):
            decode_cursor(forged)


def test_a_cursor_of_another_deployment_is_refused_and_a_rotated_secret_still_reads():
    with override_settings(SECRET_KEY="another-deployment-secret-key-0123456789"):
        foreign = encode_cursor(["new", 1])
    with pytest.raises(ValidationFailed):
        decode_cursor(foreign)
    with override_settings(SECRET_KEY_FALLBACKS=["another-deployment-secret-key-0123456789"]):
        assert decode_cursor(foreign) == ["new", 1]


def test_cursors_of_the_earlier_format_still_read():
    # What encode_cursor made before cursors were HMAC-signed JSON (django.core.signing).
    legacy = base64.urlsafe_b64encode(
        signing.dumps(["sales", 94, 235], salt="mendian.cursor", compress=True).encode()
    )
    assert decode_cursor(legacy.decode().rstrip("=")) == ["sales", 94, 235]
    forged = signing.dumps(["sales", 94, 235], salt="another.salt", compress=True)
    with pytest.raises(ValidationFailed):
        decode_cursor(base64.urlsafe_b64encode(forged.encode()).decode().rstrip("="))


def test_a_signed_value_that_is_not_a_list_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(encode_cursor({"offset": 1}))
    assert caught.value.code == "invalid_cursor"


def test_offset_cursors():
    page = offset_page(list(range(6)), offset=10, limit=5, total_fetched=6)
    assert page["items"] == [0, 1, 2, 3, 4]
    assert offset_from_cursor(page["next_cursor"]) == 15
    assert offset_page([1, 2], offset=0, limit=5, total_fetched=2)["next_cursor"] is None
    assert offset_from_cursor(None) == 0
    for values in (["x"], [-1], [1, 2], [True]):
        with pytest.raises(ValidationFailed):
            offset_from_cursor(encode_cursor(values))


def test_key_cursors_carry_whole_numbers_only():
    assert decode_int_cursor(None) is None
    assert decode_int_cursor(encode_cursor([7])) == [7]
    assert decode_int_cursor(encode_cursor([3, 9]), 2) == [3, 9]
    # Another size, a bool (a JSON true is not an id), a float, text, or nothing at all.
    for values, size in (([7], 2), ([3, 9], 1), ([True], 1), ([1.5], 1), (["7"], 1), ([], 1)):
        with pytest.raises(ValidationFailed) as caught:
            decode_int_cursor(encode_cursor(values), size)
        assert caught.value.code == "invalid_cursor"


@pytest.mark.django_db
def test_newest_first_pages_walk_the_rows_once_and_refuse_other_lists_cursors():
    from mendian.core.pagination import newest_first_page
    from mendian.merchants.models import Merchant
    from tests.factories import MerchantFactory

    made = [MerchantFactory(code=f"m{n}").pk for n in range(5)]
    qs = Merchant.objects.filter(pk__in=made)
    seen, cursor = [], None
    while True:
        rows, cursor = newest_first_page(qs, limit=2, cursor=cursor, tag="new")
        seen += [row.pk for row in rows]
        if cursor is None:
            break
        with pytest.raises(ValidationFailed) as refused:  # a tagged cursor on an untagged list
            newest_first_page(qs, limit=2, cursor=cursor)
        assert refused.value.code == "invalid_cursor"
        assert refused.value.errors == [{"loc": ["query", "cursor"], "msg": "invalid"}]
    assert seen == sorted(made, reverse=True)
    for foreign in (encode_cursor(["new", True]), encode_cursor(["old", made[0]]), encode_cursor([])):
        with pytest.raises(ValidationFailed) as refused:
            newest_first_page(qs, limit=2, cursor=foreign, tag="new")
        assert refused.value.errors == [{"loc": ["query", "cursor"], "msg": "invalid"}]
