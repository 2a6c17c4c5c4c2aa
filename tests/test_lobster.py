"""LOBSTER replays checked against the files' own order-book rows (outside oracles).

The AAPL level-10 pair and the GOOG and AMZN full-day level-1 pairs are copied into
tests/data/lobster (see its ATTRIBUTION). A missing file fails these tests: it is never a
skip.
"""

from pathlib import Path

import pytest

from liqframe.errors import InvalidValue
from liqframe.lobster import read_messages, replay_lobster
from liqframe.testing.data import recording_path
from liqframe.testing.twins import twin_modules

ROOT = Path(__file__).resolve().parent.parent
AAPL = ROOT / "tests" / "data" / "lobster"
AAPL_MESSAGES = AAPL / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
AAPL_BOOK = AAPL / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"

twins = pytest.mark.parametrize("twin", twin_modules("l3book"), indirect=True)


GOOG = ("lobster", "KV6003-thesis", "Google")
DAY_FILES = {
    "GOOG": (GOOG + ("GOOG_2012-06-21_34200000_57600000_message_1.csv",),
             GOOG + ("GOOG_2012-06-21_34200000_57600000_orderbook_1.csv",), 49_482),
    "AMZN": (("lobster", "KV6003-thesis", "Amazon", "message.csv"),
             ("lobster", "KV6003-thesis", "Amazon", "orderbook.csv"), 57_515),
}
#: The pure twin replays this prefix of a full day (the whole day takes several seconds).
PURE_PREFIX = 8_000


def assert_reproduced(result, messages):
    assert result["messages"] == messages
    assert result["rows_compared"] == messages - 1
    assert result["first_mismatch"] is None
    assert result["rows_matched"] == result["rows_compared"]
    assert result["shortfall"] == 0  # the seeded quantity covered every unknown order


@twins
def test_aapl_level_10_reproduces_every_row(twin):
    result = replay_lobster(AAPL_MESSAGES, AAPL_BOOK, 10, book_class=twin.L3Book)
    assert_reproduced(result, 999)
    # The README counts 9 messages about orders the file never submitted; more are unknown
    # here because levels coming into view are reseeded without their orders.
    assert result["unknown_orders"] >= 9


@twins
@pytest.mark.parametrize("ticker", sorted(DAY_FILES))
def test_level_1_full_day_reproduces_every_top_of_book_row(twin, ticker):
    """The compiled twin replays the whole day; the pure twin the first PURE_PREFIX
    messages, which exercise the same paths (unknown orders, levels coming into view)."""
    messages, book, rows = DAY_FILES[ticker]
    limit = PURE_PREFIX if twin.__name__.endswith(".l3book") else None
    result = replay_lobster(recording_path(*messages), recording_path(*book), 1,
                            book_class=twin.L3Book, limit=limit)
    assert_reproduced(result, limit or rows)
    assert result["unknown_orders"] > 0


@twins
def test_a_changed_row_is_reported_as_a_mismatch(twin, tmp_path):
    rows = AAPL_BOOK.read_text().splitlines()
    cells = rows[499].split(",")
    cells[3] = str(int(cells[3]) + 1)  # bid_sz_1 of row 500
    rows[499] = ",".join(cells)
    changed = tmp_path / "orderbook.csv"
    changed.write_text("\n".join(rows))
    result = replay_lobster(AAPL_MESSAGES, changed, 10, book_class=twin.L3Book)
    assert result["rows_matched"] == result["rows_compared"] - 1
    assert result["first_mismatch"]["row"] == 500
    assert result["first_mismatch"]["side"] == "bid"


def test_default_book_class_is_the_selected_core():
    assert replay_lobster(AAPL_MESSAGES, AAPL_BOOK, 10, limit=50)["rows_matched"] == 49


def test_messages_parse_to_integers_without_float():
    messages = read_messages(AAPL_MESSAGES)
    assert messages["time"][0] == 34200_004241176  # 34200.004241176 s, in ns
    assert messages["type"][0] == 1 and messages["price"][0] == 5853300
    assert len(messages["size"]) == 999


GOOD = "34200.004241176,1,16113575,18,5853300,1"


@pytest.mark.parametrize(("row", "where", "problem"), [
    ("34200.1,1,16113575,18,5853300", "row 2", "has 5 columns, expected 6"),
    ("34200.1,1,16113575,x,5853300,1", "row 2, column size", "is not an integer"),
    ("34200.1,9,16113575,18,5853300,1", "row 2, column type", "is not a LOBSTER event type"),
    ("34200.1,1,16113575,18,5853300,0", "row 2, column direction", "must be 1 (buy) or -1"),
    ("34200.1,4,16113575,0,5853300,1", "row 2, column size", "must be positive"),
    ("34200.1,1,16113575,-5,5853300,1", "row 2, column size", "must be positive"),
    ("12:00,1,16113575,18,5853300,1", "row 2, column time", "is not a time"),
])
def test_malformed_message_row_names_row_and_problem(tmp_path, row, where, problem):
    path = tmp_path / "message.csv"
    path.write_text(f"{GOOD}\n{row}\n")
    with pytest.raises(InvalidValue) as info:
        replay_lobster(path, AAPL_BOOK, 10)
    assert f"message.csv {where}" in str(info.value)
    assert problem in str(info.value)


@pytest.mark.parametrize(("row", "problem"), [
    ("5859400,200,5853300", "has 3 columns, expected 4 for 1 levels"),
    ("5859400,200,5853300,-4", "size: -4 must be positive on a non-empty level"),
    ("5859400,200,abc,18", "column 3: 'abc' is not an integer"),
])
def test_malformed_orderbook_row_names_row_and_problem(tmp_path, row, problem):
    messages = tmp_path / "message.csv"
    messages.write_text(f"{GOOD}\n{GOOD}\n")
    book = tmp_path / "orderbook.csv"
    book.write_text(f"5859400,200,5853300,18\n{row}\n")
    with pytest.raises(InvalidValue, match="orderbook.csv row 2") as info:
        replay_lobster(messages, book, 1)
    assert problem in str(info.value)


def test_files_of_different_length_are_rejected(tmp_path):
    messages = tmp_path / "message.csv"
    messages.write_text(f"{GOOD}\n")
    book = tmp_path / "orderbook.csv"
    book.write_text("5859400,200,5853300,18\n5859400,200,5853300,18\n")
    with pytest.raises(InvalidValue, match="has 2 rows but the message file has 1"):
        replay_lobster(messages, book, 1)


@pytest.mark.parametrize("levels", [0, -1, 1.5, True])
def test_levels_must_be_a_positive_integer(levels):
    with pytest.raises(InvalidValue, match="levels"):
        replay_lobster(AAPL_MESSAGES, AAPL_BOOK, levels)


def test_empty_level_markers_are_understood(tmp_path):
    """LOBSTER writes an empty level as ask 9999999999 / bid -9999999999 with size 0: then
    the whole side is visible, and a delete that empties it must leave it empty."""
    messages = tmp_path / "message.csv"
    messages.write_text("1.0,1,1,5,100,1\n2.0,1,2,7,90,1\n3.0,3,1,5,100,1\n4.0,3,2,7,90,1\n")
    book = tmp_path / "orderbook.csv"
    book.write_text("9999999999,0,100,5,9999999999,0,-9999999999,0\n"
                    "9999999999,0,100,5,9999999999,0,90,7\n"
                    "9999999999,0,90,7,9999999999,0,-9999999999,0\n"
                    "9999999999,0,-9999999999,0,9999999999,0,-9999999999,0\n")
    result = replay_lobster(messages, book, 2)
    assert_reproduced(result, 4)
    assert result["unknown_orders"] == 1  # order 1 was in the seed row, not submitted
