from datetime import UTC, datetime

import pytest

from theeye.clock import format_timestamp, parse_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-01-01 09:15:27.243860", "2021-01-01T09:15:27.243860Z"),
        ("2021-01-01T09:15:27.243860Z", "2021-01-01T09:15:27.243860Z"),
        ("2021-01-01T11:15:27.243860+02:00", "2021-01-01T09:15:27.243860Z"),
        ("2021-01-01T04:15:27-05:00", "2021-01-01T09:15:27.000000Z"),
        ("2021-01-01", "2021-01-01T00:00:00.000000Z"),
        ("2021-01-01T09:15:27.5Z", "2021-01-01T09:15:27.500000Z"),
    ],
)
def test_timestamps_are_read_as_utc_and_written_in_one_form(text: str, expected: str) -> None:
    # Given an ISO-8601 timestamp in any accepted spelling
    # When it is parsed and formatted
    # Then it comes out as UTC with microseconds and a Z
    assert format_timestamp(parse_timestamp(text)) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "yesterday", "2021-13-01T00:00:00Z", "2021-01-01T25:00:00", "x" * 100]
)
def test_malformed_timestamps_are_refused_with_a_readable_message(text: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_timestamp(text)


def test_non_strings_are_refused() -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_timestamp(1609492527)  # type: ignore[arg-type]


def test_formatting_is_fixed_width_even_for_early_years() -> None:
    # The sort key relies on fixed-width text: year 999 must not sort after year 2021.
    early = format_timestamp(datetime(999, 1, 1, tzinfo=UTC))
    late = format_timestamp(datetime(2021, 1, 1, tzinfo=UTC))
    assert len(early) == len(late) == 27
    assert early < late
