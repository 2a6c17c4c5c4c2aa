"""Every error liqframe raises on purpose. Each names what was wrong: the field, the value,
the venue, the plugin or the message, and how to fix it where there is a fix."""


class LiqframeError(Exception):
    """Base of liqframe's own errors."""


class InvalidValue(LiqframeError, ValueError):
    """A value that cannot be used: garbage, off the grid, negative, out of range.

    ``field`` names where it came from (``"price"``, ``"venues[0].taker_fee_bps"``)."""

    def __init__(self, field, value, problem):
        self.field, self.value, self.problem = field, value, problem
        super().__init__(f"{field}: {value!r} {problem}")


class ConfigError(LiqframeError):
    """Configuration that cannot be used; the message names the field and the fix."""


class PluginError(LiqframeError):
    """A plugin that failed to load, registered a taken name, or implements an unknown hook."""


class BookError(LiqframeError, ValueError):
    """A book change that cannot be applied: the book is left exactly as it was."""


class SequenceGap(BookError):
    """A change whose sequence number does not follow the book's: the book is now stale and
    must be resynchronised from a snapshot. Nothing of the change was applied."""

    def __init__(self, expected, received, message=None):
        self.expected, self.received = expected, received
        super().__init__(message or f"sequence gap: expected {expected}, received {received}")


class OrderError(LiqframeError, ValueError):
    """An order or cancel the matcher or router cannot accept; nothing was changed."""


class RouteError(LiqframeError, ValueError):
    """A routing request that cannot be served (bad side, quantity, fees or empty books)."""
