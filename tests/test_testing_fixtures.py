"""The fixtures liqframe ships to plugin authors work as documented."""

from liqframe import core


def test_l2book_fixture_holds_the_levels(liqframe_l2book, liqframe_book_levels):
    assert isinstance(liqframe_l2book, core.L2Book)
    assert liqframe_l2book.best_bid == liqframe_book_levels["bids"][0][0]
    assert liqframe_l2book.best_ask == liqframe_book_levels["asks"][0][0]
    prices, sizes = liqframe_l2book.top(core.ASK, 5)
    assert list(zip(prices.tolist(), sizes.tolist())) == liqframe_book_levels["asks"]


def test_instrument_fixture(liqframe_instrument):
    assert liqframe_instrument.price_ticks("61512.37") == 6_151_237
