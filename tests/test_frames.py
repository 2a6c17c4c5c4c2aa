"""Frame: a venue's JSON frame parsed once and read by path, both twins.

The oracle is the standard library's json.loads: a frame parses exactly the texts it accepts
(NaN and Infinity aside, which venues never send and the frame refuses), and every query
answers what the decoded value holds. Hypothesis checks the twins against it and each other.
"""

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from liqframe import core
from liqframe.connectors.stats import FeedStats
from liqframe.core import MISMATCH
from liqframe.errors import InvalidValue, SequenceGap
from liqframe.testing.twins import resolve_twin, twin_modules

APPLIED = 1

twins = pytest.mark.parametrize("twin", twin_modules("frames"), indirect=True)
FRAMES = [resolve_twin(param.values[0]) for param in twin_modules("frames")]
LEVELS = {module: resolve_twin(param.values[0]) for module, param in
          zip(FRAMES, twin_modules("levels"), strict=True)}

BINANCE = ('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1598961539543,'
           '"s":"BTCUSDT","U":5982209418,"u":5982209422,"b":[["11744.16000000","0.00000000"],'
           '["11742.43000000","0.91000000"]],"a":[["11746.82000000","0.04000000"]]}}')
COINBASE = ('{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z",'
            '"sequence_num":3,"events":[{"type":"update","product_id":"BTC-USD","updates":['
            '{"side":"bid","event_time":"2023-02-09T20:32:50.7Z","price_level":"21921.73",'
            '"new_quantity":"0.06317902"},{"side":"offer","event_time":"2023-02-09T20:32:50.7Z",'
            '"price_level":"21921.74","new_quantity":"0"}]}]}')
KRAKEN_V2 = ('{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":'
             '64013.1,"qty":0.00043}],"asks":[],"checksum":2439117997,'
             '"timestamp":"2024-05-20T10:00:00.000000Z"}]}')


def frame_of(twin, data):
    frame = twin.Frame()
    frame.parse(data)
    return frame


def batch_of(twin, price_decimals=8, size_decimals=8):
    return LEVELS[twin].LevelBatch(price_decimals, size_decimals)


@twins
def test_binance_diff_by_path(twin):
    frame = frame_of(twin, BINANCE)
    assert frame.kind() == "object" and frame.length() == 2
    assert frame.text(("data", "s")) == "BTCUSDT"
    assert frame.integer(("data", "U")) == 5982209418
    assert frame.integer(("data", "pu"), -1) == -1
    assert not frame.has(("data", "pu")) and frame.has(("data", "b", -1, 1))
    batch = batch_of(twin)
    assert frame.levels(("data", "b"), batch, 0) == 2
    assert frame.levels(("data", "a"), batch, 1) == 1
    assert batch.changes() == [(0, 1174416000000, 0), (0, 1174243000000, 91000000),
                               (1, 1174682000000, 4000000)]
    assert frame.value(("data", "a")) == [["11746.82000000", "0.04000000"]]
    assert frame.value() == json.loads(BINANCE)


@twins
def test_coinbase_levels_name_their_side(twin):
    frame = frame_of(twin, COINBASE.encode())
    assert frame.integer(("sequence_num",)) == 3
    assert frame.length(("events",)) == 1
    assert frame.text(("events", 0, "product_id")) == "BTC-USD"
    batch = batch_of(twin, 2, 8)
    count = frame.levels_sided(("events", 0, "updates"), batch, "side",
                               {"bid": 0, "offer": 1}, "price_level", "new_quantity")
    assert count == 2
    assert batch.changes() == [(0, 2192173, 6317902), (1, 2192174, 0)]


@twins
def test_numbers_are_read_from_their_text_never_a_float(twin):
    frame = frame_of(twin, KRAKEN_V2)
    batch = batch_of(twin, 1, 8)
    assert frame.levels(("data", 0, "bids"), batch, 0, "price", "qty") == 1
    assert batch.changes() == [(0, 640131, 43000)]
    assert frame.integer(("data", 0, "checksum")) == 2439117997
    assert frame.decimal(("data", 0, "bids", 0, "qty"), 8) == 43000
    assert frame.value(("data", 0, "bids", 0, "price")) == 64013.1
    assert frame.kind(("data", 0, "asks")) == "array" and frame.length(("data", 0, "asks")) == 0


@twins
def test_missing_paths_give_the_default_or_a_key_error_naming_the_path(twin):
    frame = frame_of(twin, BINANCE)
    for path in [("nope",), ("data", "b", 5), ("stream", "x"), ("data", 0), ("data", "b", -3)]:
        assert frame.kind(path) is None
        assert frame.text(path, None) is None
        assert frame.integer(path, 7) == 7
        with pytest.raises(KeyError) as raised:
            frame.text(path)
        assert raised.value.args == (path,)


@twins
def test_wrong_kinds_are_type_errors_naming_the_path(twin):
    frame = frame_of(twin, BINANCE)
    with pytest.raises(TypeError, match=r"\('data', 'E'\)"):
        frame.text(("data", "E"))
    with pytest.raises(TypeError, match="'data'"):
        frame.integer(("data",))
    with pytest.raises(TypeError, match="levels"):
        frame.levels(("data", "s"), batch_of(twin), 0)
    with pytest.raises(TypeError):
        frame.text(("data", 1.5))
    with pytest.raises(TypeError):
        frame.text(["data", "s"])


@twins
def test_integers(twin):
    frame = frame_of(twin, '{"a": "12", "b": "-9223372036854775808", "c": 9223372036854775808,'
                           ' "d": 1.0, "e": "1.5", "f": "", "g": "-", "h": -0, "i": "007"}')
    assert frame.integer(("a",)) == 12
    assert frame.integer(("b",)) == -(2**63)
    assert frame.integer(("h",)) == 0 and frame.integer(("i",)) == 7
    for key in "cdefg":
        with pytest.raises(ValueError, match=f"'{key}'"):
            frame.integer((key,))


@twins
@pytest.mark.parametrize("text", [
    "", " ", "{", "[1,]", '{"a":1,}', "{'a': 1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]",
    "NaN", "[Infinity]", "[1] [2]", '["\x01"]', '["\\x"]', '["\\u12"]', "tru", "[true false]",
    '{"a" 1}', '{1: 2}', "\ufeff[]", '"abc', "[" * 513 + "]" * 513,
], ids=repr)
def test_invalid_json_is_refused(twin, text):
    frame = twin.Frame()
    with pytest.raises(ValueError):
        frame.parse(text)
    with pytest.raises(ValueError, match="nothing parsed"):
        frame.kind()


@twins
@pytest.mark.parametrize("data", [b'["\xff"]', b'["\xc0\x80"]', b'["\xed\xa0\x80"]',
                                  b'["\xf4\x90\x80\x80"]', b'["\xe2\x82"]'])
def test_invalid_utf8_bytes_are_refused(twin, data):
    with pytest.raises(ValueError):
        twin.Frame().parse(data)


@twins
def test_nesting_512_deep_is_accepted(twin):
    frame = frame_of(twin, "[" * 511 + '{"a": 1}' + "]" * 511)
    assert frame.integer((0,) * 511 + ("a",)) == 1


@twins
def test_a_failed_parse_forgets_the_previous_frame(twin):
    frame = frame_of(twin, BINANCE)
    with pytest.raises(ValueError):
        frame.parse("[")
    with pytest.raises(ValueError):
        frame.has(("data",))
    frame.parse("[1]")
    assert frame.value() == [1]


@twins
def test_bad_levels_leave_the_batch_as_it_was(twin):
    batch = batch_of(twin, 2, 2)
    frame = frame_of(twin, '{"ok": [["1.5", "2"]], "places": [["1", "1"], ["1.234", "1"]], '
                           '"short": [["1"]], "kind": [["1", true]], "flat": ["1"], '
                           '"obj": [{"p": "1"}]}')
    assert frame.levels(("ok",), batch, 0) == 1
    with pytest.raises(InvalidValue, match="price"):
        frame.levels(("places",), batch, 1)
    with pytest.raises(IndexError):
        frame.levels(("short",), batch, 1)
    with pytest.raises(TypeError, match="size"):
        frame.levels(("kind",), batch, 1)
    with pytest.raises(TypeError, match="array or an object"):
        frame.levels(("flat",), batch, 1)
    with pytest.raises(KeyError):
        frame.levels(("obj",), batch, 1, "p", "s")
    with pytest.raises(KeyError):
        frame.levels_sided(("obj",), batch, "p", {"2": 0}, "p", "p")
    with pytest.raises(InvalidValue, match="side"):
        frame.levels(("ok",), batch, 2)
    assert batch.changes() == [(0, 150, 200)]


@twins
def test_sides_reads_bids_then_asks_skipping_what_is_absent(twin):
    frame = frame_of(twin, '[1, {"a": [["2", "1"]]}, {"b": [["1", "3"]], "c": "5"}, "x"]')
    batch = batch_of(twin, 0, 0)
    assert frame.sides(batch, (2, "b"), (1, "a")) == 2
    assert frame.sides(batch, (1, "b"), None) == 0
    assert batch.changes() == [(0, 1, 3), (1, 2, 1)]
    with pytest.raises(TypeError):
        frame.sides(batch, (2, "b"), (2, "c"))
    assert batch.changes() == [(0, 1, 3), (1, 2, 1)]


# -- the twins against json.loads ---------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
           | st.sampled_from(["0.5", "100", "-3", "1e-3", "12.3400", "", "\u00e9", "\\"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=3), inner, max_size=4), max_leaves=20)


def paths_in(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_in(item, (*prefix, key))
        yield (*prefix, "absent")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_in(item, (*prefix, index))
            yield (*prefix, index - len(value))
        yield (*prefix, len(value))


def outcome(call):
    try:
        return ("ok", call())
    except (ValueError, TypeError, KeyError, IndexError) as error:
        kind = ValueError if isinstance(error, ValueError) else type(error)
        return ("raises", kind)


def answers(frame, path):
    return [outcome(lambda q=query: q(frame, path)) for query in (
        lambda f, p: f.kind(p), lambda f, p: f.has(p), lambda f, p: f.length(p),
        lambda f, p: f.text(p), lambda f, p: f.integer(p), lambda f, p: f.decimal(p, 6),
        lambda f, p: f.value(p, "default"), lambda f, p: f.length(p, "default"),
        lambda f, p: f.fields(((p, "text", 0), (p, "integer", 1), (p, 6, 2), (p, "length", 3),
                               (None, "text", 4))))]


@settings(max_examples=300, deadline=None)
@given(value=values, ascii_only=st.booleans(), indent=st.sampled_from([None, 1]),
       as_bytes=st.booleans())
def test_twins_answer_what_json_loads_decodes(value, ascii_only, indent, as_bytes):
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    data = text.encode("utf-8", "surrogatepass") if as_bytes else text
    try:
        data.decode("utf-8") if as_bytes else text.encode("utf-8")
    except UnicodeError:
        assume(False)  # lone surrogates do not make UTF-8 at all
    decoded = json.loads(text)
    frames = [frame_of(twin, data) for twin in FRAMES]
    for frame in frames:
        assert frame.value() == decoded
    for path in paths_in(decoded):
        results = [answers(frame, path) for frame in frames]
        assert all(result == results[0] for result in results), path


@settings(max_examples=400, deadline=None)
@given(value=values, edits=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(
    ["", "[", "]", "{", "}", ",", ":", '"', "\\", "0", "-", ".", "e", " ", "\x00", "x", "n"])),
    min_size=1, max_size=3))
def test_damaged_text_is_refused_exactly_when_json_refuses_it(value, edits):
    text = json.dumps(value)
    for where, insert in edits:
        where %= len(text) + 1
        text = text[:where] + insert + text[where + (insert == ""):]
    try:
        expected = ("ok", json.loads(text, parse_constant=lambda name: 1 / 0))
    except (ValueError, ZeroDivisionError):
        expected = ("raises", ValueError)
    for twin in FRAMES:
        frame = twin.Frame()
        got = outcome(lambda f=frame: (f.parse(text), f.value())[1])
        assert got == expected, (twin.__name__, text)


decimal_texts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.sampled_from(["1e2", "0.00001", "-1", "abc", "", "1.23456789"]))
level_entries = st.lists(st.one_of(
    st.tuples(decimal_texts, decimal_texts).map(list),
    st.tuples(decimal_texts, decimal_texts).map(lambda t: {"p": t[0], "s": t[1], "side": "b"}),
    st.tuples(st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False)).map(list),
    st.just([True, "1"]), st.just("1"), st.just([])), max_size=5)


@settings(max_examples=300, deadline=None)
@given(entries=level_entries, price=st.sampled_from([0, 1, -1, "p"]),
       size=st.sampled_from([1, 0, "s", 5]), sided=st.booleans())
def test_twins_read_levels_alike(entries, price, size, sided):
    text = json.dumps({"levels": entries})
    results = []
    for twin in FRAMES:
        frame, batch = frame_of(twin, text), batch_of(twin, 4, 2)
        if sided:
            got = outcome(lambda f=frame, b=batch: f.levels_sided(
                ("levels",), b, "side", {"b": 0}, price, size))
        else:
            got = outcome(lambda f=frame, b=batch: f.levels(("levels",), b, 0, price, size))
        if got[0] == "raises":
            assert batch.count == 0
        results.append((got, batch.changes()))
    assert all(result == results[0] for result in results)


# -- several fields in one call --------------------------------------------------------------

OKX_UPDATE = ('{"arg":{"channel":"books","instId":"UNI-USD-SWAP"},"action":"update","data":'
              '[{"asks":[],"bids":[["5.134","127","0","3"],["5.133","0","0","0"]],'
              '"ts":"1652459226428","checksum":-756333598,"seqId":12,"prevSeqId":11}]}')


@twins
def test_fields_read_each_kind_as_its_method_does(twin):
    frame = frame_of(twin, OKX_UPDATE)
    entry = ("data", 0)
    specs = ((("arg", "channel"), "text", None), (("arg", "instId"), "text", None),
             (("data",), "length", None), ((*entry, "ts"), 6, 0),
             ((*entry, "checksum"), "integer", None), ((*entry, "nope"), "integer", -1),
             (None, "integer", "not read"), ((*entry, "bids", 0, 0), 3, None))
    assert frame.fields(specs) == ("books", "UNI-USD-SWAP", 1, 1652459226428000000,
                                   -756333598, -1, "not read", 5134)
    assert frame.fields(specs) == (
        frame.text(specs[0][0]), frame.text(specs[1][0]), frame.length(("data",)),
        frame.decimal(specs[3][0], 6), frame.integer(specs[4][0]), -1, "not read",
        frame.decimal(specs[7][0], 3))
    assert frame.fields(()) == ()
    assert frame.length(("nope",), None) is None and frame.length(("data",), None) == 1
    with pytest.raises(KeyError) as raised:
        frame.fields(((("nope",), "text", twin.MISSING),))
    assert raised.value.args == (("nope",),)


@twins
def test_fields_refuse_what_their_methods_refuse(twin):
    frame = frame_of(twin, OKX_UPDATE)
    with pytest.raises(ValueError, match=r"\('action',\)"):
        frame.fields(((("action",), "integer", None),))
    with pytest.raises(TypeError, match=r"\('arg',\)"):
        frame.fields(((("arg",), "text", None),))
    with pytest.raises(TypeError, match=r"\('arg',\)"):
        frame.fields(((("arg",), 2, None),))
    with pytest.raises(ValueError, match="decimals"):
        frame.fields(((("data", 0, "ts"), 19, None),))
    assert frame.fields(((("absent",), 19, None),)) == (None,)  # no value: no decimals
    for bad in [(("action",), "text"), [("action",), "text", None], "action"]:
        with pytest.raises(TypeError, match="path, kind, default"):
            frame.fields((bad,))
    for kind in ["float", True, 1.5, None]:
        with pytest.raises(ValueError, match="kind"):
            frame.fields(((("action",), kind, None),))
    with pytest.raises(TypeError):
        frame.fields([(("action",), "text", None)])


@twins
@pytest.mark.parametrize("special", ['\\"', "\\\\", "\\n", "\\u00e9", "\u00e9", "\u20ac",
                                     "\U0001f600"])
def test_strings_with_a_special_character_at_every_offset(twin, special):
    """The scanner skips eight plain bytes a step and stops at the first that needs a look;
    wherever that byte falls in the step, the string decodes as json.loads decodes it."""
    for offset in range(18):
        for tail in range(3):
            text = '["' + "a" * offset + special + "b" * tail + '", "x"]'
            for data in (text, text.encode()):
                frame = frame_of(twin, data)
                assert frame.value() == json.loads(text), (offset, tail)
                assert frame.text((1,)) == "x"
    for offset in range(18):
        with pytest.raises(ValueError):
            twin.Frame().parse('["' + "a" * offset + "\x1f" + '"]')
        with pytest.raises(ValueError):
            twin.Frame().parse(b'["' + b"a" * offset + b"\xff" + b'"]')


# -- a book update read and applied in one call ----------------------------------------------

NO_SEQUENCE = -(2**63)
PLAN = (((("arg", "channel"), "books"), (("action",), "update")), ("arg", "instId"), ("data",),
        ((("seqId",), "integer", NO_SEQUENCE), (("seqId",), "integer", NO_SEQUENCE),
         (("prevSeqId",), "integer", NO_SEQUENCE), (("ts",), 6, 0),
         (("checksum",), "integer", None)),
        ("bids",), ("asks",))
SNAPSHOT = ([(5134, 100), (5133, 50)], [(5136, 10), (5137, 20)])


class Feed:
    """What Frame.apply_update reads of a feed (BookFeed's ``synced`` and ``pipe``)."""

    def __init__(self, twin, synced=True):
        levels, book, checksum = (core.load(name, compiled=twin is not FRAMES[0])
                                  for name in ("levels", "book", "checksum"))
        self.synced = synced
        self.changes = []
        self.pipe = levels.BookPipe(book.L2Book(), levels.LevelBatch(3, 0), FeedStats(), "UNI",
                                    lambda *call: self.changes.append(
                                        [c.tolist() for c in call[1:4]]),
                                    checksum=checksum.Checksum("okx", 3, 0))
        self.pipe.book.apply_snapshot(*_columns(SNAPSHOT[0]), *_columns(SNAPSHOT[1]), 11)
        self.okx_checksum = lambda book: checksum.okx_checksum(book, 3, 0)


def _columns(levels):
    return tuple(np.array(column, dtype=np.int64) for column in zip(*levels, strict=True))


def update(bids=(), asks=(), *, seq=12, prev=11, checksum=None, **changes):
    message = {"arg": {"channel": "books", "instId": "UNI"}, "action": "update",
               "data": [{"asks": [list(level) for level in asks],
                         "bids": [list(level) for level in bids], "ts": "1652459226428",
                         "seqId": seq, "prevSeqId": prev}]}
    if checksum is not None:
        message["data"][0]["checksum"] = checksum
    message.update(changes)
    return json.dumps(message)


@twins
def test_an_update_is_read_and_applied_in_one_call(twin):
    feed = Feed(twin)
    expected = Feed(twin).pipe.book
    expected.apply(0, 5134, 0)
    expected.apply(1, 5135, 7)
    published = feed.okx_checksum(expected)
    frame, plan = twin.Frame(), twin.UpdatePlan(*PLAN)
    text = update([("5.134", "0", "0", "0")], [("5.135", "7", "0", "1")], checksum=published)
    assert frame.apply_update(text, plan, {"UNI": feed}, 99) == APPLIED
    assert feed.changes == [[[0, 1], [5134, 5135], [0, 7]]]
    assert feed.pipe.book.top(0, 5)[0].tolist() == [5133]
    assert feed.pipe.book.sequence == 12 and feed.pipe.computed == published
    stats = feed.pipe.stats
    assert (stats.applied, stats.checksums_checked, stats.checksum_failures) == (1, 1, 0)
    assert frame.text(("arg", "instId")) == "UNI"  # the frame stays parsed
    # The venue's checksum disagrees: applied, and reported as a mismatch.
    assert frame.apply_update(update([("5.1", "1")], seq=13, prev=12, checksum=5), plan,
                              {"UNI": feed}) == MISMATCH
    # A lost message: the book turns stale.
    with pytest.raises(SequenceGap):
        frame.apply_update(update([("5.1", "2")], seq=15, prev=14), plan, {"UNI": feed})
    assert feed.pipe.book.stale


@twins
def test_what_the_plan_does_not_describe_is_left_parsed_for_the_general_path(twin):
    feed = Feed(twin)
    frame, plan = twin.Frame(), twin.UpdatePlan(*PLAN)
    two = json.loads(update([("5.1", "1")]))
    two["data"] *= 2
    for text, feeds in [
        (update([("5.1", "1")], action="snapshot"), {"UNI": feed}),
        (update([("5.1", "1")], arg={"channel": "trades", "instId": "UNI"}), {"UNI": feed}),
        (update([("5.1", "1")], arg={"channel": "books", "instId": 7}), {"UNI": feed}),
        (update([("5.1", "1")], arg={"channel": "books"}), {"UNI": feed}),
        (update([("5.1", "1")]), {"BTC": feed}),
        (update([("5.1", "1")]), {"UNI": Feed(twin, synced=False)}),
        (update([("5.1", "1")], data={"bids": []}), {"UNI": feed}),
        (json.dumps(two), {"UNI": feed}),
        ('{"event": "error", "msg": "no", "code": "60012"}', {"UNI": feed}),
    ]:
        assert frame.apply_update(text, plan, feeds) is None, text
        assert frame.value() == json.loads(text)
    assert feed.pipe.stats.applied == 0 and feed.changes == []
    with pytest.raises(ValueError):
        frame.apply_update("{", plan, {"UNI": feed})
    # A string written with escapes is the same string.
    escaped = update([("5.1", "1")]).replace('"books"', '"\\u0062ooks"')
    assert frame.apply_update(escaped, plan, {"UNI": feed}) == APPLIED


@twins
def test_a_plan_reads_paths_through_arrays_and_objects_alike(twin):
    """Plan paths with indexes (from the end too, or out of range) and nested keys."""
    feed = Feed(twin)
    when, key, entries, fields, bids, asks = PLAN
    plan = twin.UpdatePlan(((("arg", "channel"), "books"), (("data", -1, "kind"), "diff")),
                           ("arg", "instId"), None,
                           (((("data", 0, "seqId"), "integer", NO_SEQUENCE),) * 2
                            + ((("data", -1, "prevSeqId"), "integer", NO_SEQUENCE),
                               (("data", 2**70, "ts"), 6, 0),
                               (("data", 0, "checksum"), "integer", None))),
                           ("data", 0, "bids"), ("data", -1, "asks"))
    message = json.loads(update([("5.134", "0")], [("5.135", "7")]))
    message["data"][0]["kind"] = "diff"
    assert frame_of(twin, "{}").apply_update(json.dumps(message), plan, {"UNI": feed}) == APPLIED
    assert feed.changes == [[[0, 1], [5134, 5135], [0, 7]]]
    assert feed.pipe.book.sequence == 12
    message["data"][0]["kind"] = "full"
    assert twin.Frame().apply_update(json.dumps(message), plan, {"UNI": feed}) is None
    missing = twin.UpdatePlan(when, key, entries, (*fields[:4], (("checksum",), "integer",
                                                                 twin.MISSING)), bids, asks)
    with pytest.raises(KeyError):
        twin.Frame().apply_update(update([("5.1", "1")], seq=13, prev=12), missing,
                                  {"UNI": feed})


@twins
def test_a_malformed_update_raises_and_changes_nothing(twin):
    feed = Feed(twin)
    frame, plan = twin.Frame(), twin.UpdatePlan(*PLAN)
    before = (feed.pipe.book.top(0, 5)[0].tolist(), feed.pipe.book.sequence)
    for text, error in [(update([("5.1234", "1")]), InvalidValue),
                        (update([("5.1", "x")]), InvalidValue),
                        (update([["5.1"]]), IndexError),
                        (update([("5.1", "1")], seq="twelve"), ValueError),
                        (update([("5.1", "1")], seq=[12]), TypeError),
                        (update([("5.1", "1")]).replace('"1652459226428"', "true"),
                         TypeError)]:
        with pytest.raises(error):
            frame.apply_update(text, plan, {"UNI": feed})
    assert (feed.pipe.book.top(0, 5)[0].tolist(), feed.pipe.book.sequence) == before
    assert feed.pipe.stats.applied == 0 and feed.changes == []


@twins
def test_a_plan_is_checked_when_made(twin):
    when, key, entries, fields, bids, asks = PLAN
    assert twin.UpdatePlan(*PLAN).fields == fields
    assert twin.UpdatePlan((), key, None, fields, None, None).entries is None
    for bad, error in [((("channel", "books"),), TypeError), (((("arg",), 5),), TypeError),
                       ([], TypeError)]:
        with pytest.raises(error, match="when"):
            twin.UpdatePlan(bad, key, entries, fields, bids, asks)
    with pytest.raises(TypeError, match="key"):
        twin.UpdatePlan(when, "instId", entries, fields, bids, asks)
    with pytest.raises(TypeError, match="entries"):
        twin.UpdatePlan(when, key, ["data"], fields, bids, asks)
    with pytest.raises(ValueError, match="five"):
        twin.UpdatePlan(when, key, entries, fields[:4], bids, asks)
    with pytest.raises(ValueError, match="kind"):
        twin.UpdatePlan(when, key, entries, (*fields[:4], (("checksum",), "int", None)), bids,
                        asks)
    with pytest.raises(TypeError, match="path"):
        twin.UpdatePlan(when, key, entries, (*fields[:4], ("checksum", "integer", None)), bids,
                        asks)
    for path in [("bids", 1.5), ("bids", True), (None,)]:
        with pytest.raises(TypeError, match="step"):
            twin.UpdatePlan(when, key, entries, fields, path, asks)
    with pytest.raises(TypeError, match="step"):
        twin.UpdatePlan(when, key, entries, (*fields[:4], (("checksum", b"x"), 6, None)),
                        bids, asks)
    with pytest.raises(TypeError, match="UpdatePlan"):
        twin.Frame().apply_update("{}", PLAN, {})


updates = st.fixed_dictionaries({
    "bids": st.lists(st.tuples(st.sampled_from(["5.1", "5.134", "5.13", "5.1345", "x"]),
                               st.sampled_from(["0", "1", "20", "1.5"])), max_size=3),
    "asks": st.lists(st.tuples(st.sampled_from(["5.2", "5.136", "5.19"]),
                               st.sampled_from(["0", "3"])), max_size=3),
    "seq": st.sampled_from([12, 11, 13, "12"]), "prev": st.sampled_from([11, 10, 12, None]),
    "checksum": st.sampled_from([None, 0, -756333598]),
    "action": st.sampled_from(["update", "update", "snapshot"]),
    "synced": st.booleans()})


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(updates, min_size=1, max_size=4))
def test_twins_apply_updates_alike(messages):
    """Each twin's frame, plan and feed get the same messages; results, errors, books, what
    reached the sink and the counts agree."""
    seen = []
    for twin in FRAMES:
        feed, frame, plan = Feed(twin), twin.Frame(), twin.UpdatePlan(*PLAN)
        got = []
        for message in messages:
            feed.synced = message["synced"]
            text = update(message["bids"], message["asks"], seq=message["seq"],
                          prev=message["prev"], checksum=message["checksum"],
                          action=message["action"])
            got.append(outcome_of(lambda t=text, f=frame, p=plan, d=feed: f.apply_update(
                t, p, {"UNI": d})))
        book = feed.pipe.book
        seen.append((got, feed.changes, book.top(0, 9)[0].tolist(), book.top(1, 9)[1].tolist(),
                     book.sequence, book.stale, feed.pipe.stats.as_dict()))
    assert all(result == seen[0] for result in seen)


def outcome_of(call):
    try:
        return ("ok", call())
    except (ValueError, TypeError, KeyError, IndexError, SequenceGap) as error:
        return ("raises", type(error).__name__ if not isinstance(error, InvalidValue)
                else "InvalidValue")
