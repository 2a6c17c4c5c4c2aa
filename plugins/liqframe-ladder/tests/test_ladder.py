import pytest
from liqframe_ladder import Ladder

from liqframe.errors import InvalidValue
from liqframe.interfaces import QuotingStrategy


class State:
    """A plain market state: one mid, inventory per venue."""

    def __init__(self, mid, held=None):
        self._mid, self.held = mid, held or {}

    def best(self, venue, symbol):
        return None, None

    def mid(self, symbol):
        return self._mid

    def inventory(self, venue, asset):
        return self.held.get(venue, 0)


BASE = dict(symbol="BTC/USDT", venues=["a"])
MID = 1_000_000  # 1 bp = 100 ticks


def prices(quotes):
    return [(q.bid_price, q.ask_price, q.bid_size, q.ask_size) for q in quotes]


def test_registered_through_its_entry_point(liqframe_registry):
    assert liqframe_registry(autoload=True).resolve("strategy", "ladder", "t") is Ladder


def test_levels_spreads_and_sizes():
    ladder = Ladder(**BASE, levels=3, half_spread_bps="5", step_bps="2.5", sizes=[1, 2, 4])
    assert isinstance(ladder, QuotingStrategy)
    assert prices(ladder.quotes(State(MID))) == [
        (999_500, 1_000_500, 1, 1), (999_250, 1_000_750, 2, 2), (999_000, 1_001_000, 4, 4)]


def test_minimum_spread_and_one_tick_per_level():
    ladder = Ladder(**BASE, levels=2, half_spread_bps="1", step_bps="0", min_spread_bps="6")
    assert prices(ladder.quotes(State(MID))) == [
        (999_700, 1_000_300, 1, 1), (999_700, 1_000_300, 1, 1)]
    tiny = Ladder(**BASE, levels=2, half_spread_bps="0.01", step_bps="0")
    assert prices(tiny.quotes(State(100))) == [(99, 101, 1, 1), (98, 102, 1, 1)]


def test_inventory_skew_moves_the_centre_against_the_position():
    ladder = Ladder(symbol="BTC/USDT", venues=["long", "short"], levels=1, half_spread_bps="5",
                    skew_bps_per_lot="0.5", inventory_unit=10)
    quotes = ladder.quotes(State(MID, {"long": 40, "short": -40}))  # 4 lots: 2 bp = 200 ticks
    assert prices(quotes) == [(999_300, 1_000_300, 1, 1), (999_700, 1_000_700, 1, 1)]


def test_price_band_drops_levels_beyond_it():
    ladder = Ladder(**BASE, levels=3, half_spread_bps="5", step_bps="5", band_bps="10")
    assert prices(ladder.quotes(State(MID))) == [
        (999_500, 1_000_500, 1, 1), (999_000, 1_001_000, 1, 1)]
    skewed = Ladder(**BASE, levels=1, half_spread_bps="5", band_bps="6",
                    skew_bps_per_lot="2")
    # Long 1 lot: centre 2 bp lower; the bid at 7 bp is outside the band, the ask at 3 bp is in.
    assert prices(skewed.quotes(State(MID, {"a": 1}))) == [(None, 1_000_300, 0, 1)]


def test_refresh_tolerance_keeps_quotes_until_the_mid_moves_enough():
    ladder = Ladder(**BASE, levels=1, half_spread_bps="5", refresh_tolerance_bps="1")
    first = ladder.quotes(State(MID))
    assert ladder.quotes(State(MID + 100)) == first  # 1 bp: within tolerance
    moved = ladder.quotes(State(MID + 101))
    # 5 bp of 1,000,101 is 500.05 ticks, rounded away from the mid to 501.
    assert prices(moved) == [(999_600, 1_000_602, 1, 1)]


def test_inventory_change_refreshes_at_once():
    ladder = Ladder(**BASE, levels=1, half_spread_bps="5", refresh_tolerance_bps="100",
                    skew_bps_per_lot="1")
    first = ladder.quotes(State(MID))
    assert ladder.quotes(State(MID, {"a": 1})) != first


def test_randomised_sizes_stay_in_bounds_and_replay_with_the_seed():
    def run(seed):
        ladder = Ladder(**BASE, levels=2, sizes=[100, 200], size_jitter="0.2", seed=seed)
        return [prices(ladder.quotes(State(MID + i * 1000))) for i in range(50)]

    sizes = [row[2] for quotes in run(1) for row in quotes]
    assert all(80 <= s <= 240 for s in sizes) and len(set(sizes)) > 10
    assert run(1) == run(1) and run(1) != run(2)


def test_randomised_refresh_tolerance_stays_in_bounds():
    ladder = Ladder(**BASE, levels=1, refresh_tolerance_bps="10", refresh_jitter="0.5", seed=3)
    refreshed_after = []
    for _ in range(30):
        start = ladder.quotes(State(MID))
        step = 0
        while ladder.quotes(State(MID + step * 50)) == start:
            step += 1
        refreshed_after.append(step * 50)
        ladder._kept.clear()
    # 10 bp = 1000 ticks, jittered by ±50%: refresh beyond 500 ticks and by 1550 at the latest.
    assert all(500 < t <= 1550 for t in refreshed_after) and len(set(refreshed_after)) > 3


def test_no_mid_no_quotes():
    assert Ladder(**BASE).quotes(State(None)) == []


@pytest.mark.parametrize(("options", "field"), [
    ({"levels": 0}, "levels"), ({"half_spread_bps": "0"}, "half_spread_bps"),
    ({"half_spread_bps": 1.5}, "half_spread_bps"), ({"step_bps": "-1"}, "step_bps"),
    ({"sizes": [1, 2]}, "sizes"), ({"sizes": [1, 0, 1]}, "sizes[1]"),
    ({"min_spread_bps": "x"}, "min_spread_bps"), ({"band_bps": "0"}, "band_bps"),
    ({"size_jitter": "1.5"}, "size_jitter"), ({"refresh_jitter": "-0.1"}, "refresh_jitter"),
    ({"seed": "a"}, "seed"), ({"skew_bps_per_lot": "-1"}, "skew_bps_per_lot"),
    ({"inventory_unit": 0}, "inventory_unit"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(InvalidValue) as caught:
        Ladder(**BASE, **options)
    assert caught.value.field == field
