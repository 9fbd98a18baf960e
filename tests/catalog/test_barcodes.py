import pytest

from mendian.catalog.barcodes import (
    barcode_check,
    barcode_is_valid,
    ean8_is_valid,
    ean13_complete,
    ean13_is_valid,
)
from mendian.core.errors import ValidationFailed


@pytest.mark.parametrize("code", ["4006381333931", "5901234123457", "6920152400531", "0000000000000"])
def test_valid_ean13(code):
    assert ean13_is_valid(code)


@pytest.mark.parametrize(
    "code",
    [
        "4006381333932",  # wrong check digit
        "400638133393",  # 12 digits
        "40063813339311",  # 14 digits
        "40063813339a1",
        "４００６３８１３３３９３１",  # full-width digits are not barcode digits
        "",
        None,
        4006381333931,
    ],
)
def test_invalid_ean13(code):
    assert not ean13_is_valid(code)


def test_ean13_complete_appends_the_check_digit():
    assert ean13_complete("400638133393") == "4006381333931"
    assert ean13_complete("200000000001") == "2000000000015"
    assert ean13_is_valid(ean13_complete("690123456789"))


@pytest.mark.parametrize("first12", ["40063813339", "4006381333931", "40063813339x", 400638133393])
def test_ean13_complete_needs_twelve_digits(first12):
    with pytest.raises(ValueError):
        ean13_complete(first12)


def test_ean8():
    assert ean8_is_valid("96385074")
    assert ean8_is_valid("73513537")
    assert not ean8_is_valid("96385075")
    assert barcode_is_valid("96385074") and barcode_is_valid("4006381333931")


def test_barcode_check_strips_or_raises_invalid_barcode():
    assert barcode_check(" 4006381333931 ") == "4006381333931"
    with pytest.raises(ValidationFailed) as excinfo:
        barcode_check("4006381333932", loc=["body", "variants", 0, "barcode"])
    assert excinfo.value.code == "invalid_barcode"
    assert excinfo.value.status == 422
    assert excinfo.value.errors[0]["loc"] == ["body", "variants", 0, "barcode"]
