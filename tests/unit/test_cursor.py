import pytest

from theeye.cursor import CursorCodec, fingerprint
from theeye.errors import InvalidRequest

CODEC = CursorCodec(b"k" * 32)
FP = fingerprint("/events", {"category": "page interaction", "order": "asc"})


def test_a_cursor_round_trips_for_the_same_query() -> None:
    cursor = CODEC.encode("2021-01-01T09:15:27.243860Z#dv1-abc", FP)
    assert CODEC.decode(cursor, FP) == "2021-01-01T09:15:27.243860Z#dv1-abc"


def test_filters_are_fingerprinted_regardless_of_order() -> None:
    assert fingerprint("/e", {"a": 1, "b": 2}) == fingerprint("/e", {"b": 2, "a": 1})
    assert fingerprint("/e", {"a": 1}) != fingerprint("/f", {"a": 1})


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # signature edited
        lambda c: "x" + c,  # payload edited
        lambda c: c.split(".")[0],  # signature cut off
        lambda c: c[: len(c) // 2],  # truncated
        lambda c: c + ".x",
        lambda c: "",
        lambda c: "%%%.%%%",
        lambda c: "a" * 5000,
    ],
)
def test_forged_truncated_or_edited_cursors_are_400(tamper) -> None:  # type: ignore[no-untyped-def]
    cursor = CODEC.encode("position", FP)
    with pytest.raises(InvalidRequest) as caught:
        CODEC.decode(tamper(cursor), FP)
    assert caught.value.code == "invalid_cursor"


def test_a_cursor_from_another_secret_is_refused() -> None:
    foreign = CursorCodec(b"other-secret").encode("position", FP)
    with pytest.raises(InvalidRequest):
        CODEC.decode(foreign, FP)


def test_a_cursor_presented_with_other_filters_is_refused() -> None:
    cursor = CODEC.encode("position", FP)
    with pytest.raises(InvalidRequest, match="other filters"):
        CODEC.decode(cursor, fingerprint("/events", {"category": "form interaction", "order": "asc"}))
