from core.beatmaps.search import SearchQuery, parse_text
from core.http import decode_cursor, encode_cursor


def test_cursor_string_is_unpadded_base64url_json() -> None:
    text = encode_cursor({"approved_date": 1700000000000, "id": 5})
    assert text is not None and "=" not in text
    assert decode_cursor(text) == {"approved_date": 1700000000000, "id": 5}
    assert encode_cursor(None) is None


def test_bad_cursors_count_as_none() -> None:
    for text in ("", "!!!", "bnVsbA", "WzEsMl0", "x" * 2000):  # null, [1,2], too long
        assert decode_cursor(text) is None


def test_query_filters() -> None:
    query = SearchQuery()
    parse_text(query, "Hello ar>=9 stars<5.5 creator=peppy status=loved ranked>2020 keys=4 x=1")
    assert query.text == ["hello", "x=1"]
    assert ("ar", ">=", 9.0) in query.map_filters and ("stars", "<", 5.5) in query.map_filters
    assert ("keys", "=", 4.0) in query.map_filters
    assert query.text_filters == [("creator", "peppy")]
    assert query.status_filter == 4
