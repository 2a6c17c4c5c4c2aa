"""``exposure``: a limit on what we hold at each venue (counterparty risk).

A venue's exposure is the value, in ``currency``, of every balance we hold there, base assets
at the consolidated mid (:meth:`~liqframe.interfaces.RiskState.holdings`): what would be lost
if the venue failed. While it is above the venue's limit the model drops every quote on the
venue and refuses every order there (a rebalancer should move capital away; trading on
would only keep it there). A venue whose exposure cannot be valued yet (no mid, no rate) is
treated as over its limit: unknown is not safe.
"""

from liqframe.builtin.risk import decimal_option, text_option
from liqframe.errors import InvalidValue


class Exposure:
    """Options: ``currency`` (required), ``max_exposure`` for every venue (decimal string, 0:
    no limit) and ``venues``, a table of venue = limit overriding it."""

    def __init__(self, *, currency=None, max_exposure="0", venues=None):
        self.currency = text_option("currency", currency)
        self.default = decimal_option("max_exposure", max_exposure)
        if venues is not None and not isinstance(venues, dict):
            raise InvalidValue("venues", venues, "must be a table of venue = \"limit\"")
        self.limits = {name: decimal_option(f"venues.{name}", value)
                       for name, value in (venues or {}).items()}
        self.over = {}  # venue -> reason, as of the last look

    def limit(self, venue):
        return self.limits.get(venue, self.default)

    def check(self, venue, state):
        """A reason when ``venue`` is over its limit, else None."""
        limit = self.limit(venue)
        if not limit:
            return None
        held = state.holdings(venue, self.currency)
        if held is None:
            return f"exposure on {venue} cannot be valued in {self.currency} yet"
        if held > limit:
            return (f"exposure on {venue} of {held:.2f} {self.currency} is above its limit "
                    f"{limit}")
        return None

    # -- RiskModel --------------------------------------------------------------------------

    def adjust(self, quotes, state):
        self.over = {venue: reason for venue in {q.venue for q in quotes}
                     if (reason := self.check(venue, state))}
        return [q for q in quotes if q.venue not in self.over]

    def veto(self, order, state):
        return self.check(order.venue, state)

    def venue_weights(self, state):
        return {}
