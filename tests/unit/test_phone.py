import pytest
from spam_blocker.domain.phone import (
    InvalidNumber,
    is_emergency_or_short,
    is_toll_free,
    min_prefix_length,
    normalize,
    prefix_covers,
    prefixes_of,
)


@pytest.mark.parametrize(
    "raw",
    ["+19075550123", "+1 (907) 555-0123", "19075550123", "907-555-0123", "(907) 555 0123", "907.555.0123",
     "+1-907-555-0123 ext. 12", " +1 907 555 0123 ", "001 907 555 0123", "00 1 (907) 555-0123",
     "011 1 907 555 0123"],
)
def test_common_written_forms_normalise_to_e164(raw):
    assert normalize(raw) == "+19075550123"


def test_default_region_applies_to_national_forms():
    assert normalize("020 7123 4567", region="GB") == "+442071234567"


@pytest.mark.parametrize(("raw", "region"), [("0044 20 7123 4567", "US"), ("011 44 20 7123 4567", "US"),
                                             ("0044 20 7123 4567", "GB"), ("00 44 20 7123 4567", "DE")])
def test_00_is_read_as_the_international_prefix(raw, region):
    assert normalize(raw, region=region) == "+442071234567"


@pytest.mark.parametrize("raw", ["", "   ", "abc", "12", "+1 907", "0000000000000000000",
                                 "555-0123", "5550124", "00", "00 12"])
def test_unparseable_numbers_raise(raw):
    with pytest.raises(InvalidNumber):
        normalize(raw)


@pytest.mark.parametrize("raw", ["911", "112", "999", "988", "411", "+1 911", "1911", "22222"])
def test_emergency_and_short_codes(raw):
    assert is_emergency_or_short(raw)


def test_ordinary_number_is_not_short():
    assert not is_emergency_or_short("+19075550123")


def test_prefixes_start_at_country_plus_area_code():
    assert min_prefix_length("+19075550123") == 4
    assert prefixes_of("+19075550123")[0] == "1907"
    assert prefixes_of("+19075550123")[-1] == "1907555012"
    assert prefixes_of("+19075550123", shortest=7, longest=7) == ["1907555"]
    assert prefix_covers("1907555", "+19075550123")
    assert not prefix_covers("1907556", "+19075550123")


def test_toll_free():
    assert is_toll_free("+18005550199")
    assert not is_toll_free("+19075550123")
