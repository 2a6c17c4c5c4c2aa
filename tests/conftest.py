import os

import pytest
from hypothesis import HealthCheck, settings

from liqframe import core

# The twin fixture is stateless, so sharing it across Hypothesis examples is safe.
settings.register_profile("liqframe", suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("liqframe")


def pytest_configure(config):
    if os.environ.get("LIQFRAME_REQUIRE_EXTENSIONS") and not core.EXTENSIONS_LOADED:
        raise pytest.UsageError(
            "LIQFRAME_REQUIRE_EXTENSIONS is set but the compiled core did not load")


def pytest_report_header(config):
    return (f"liqframe core: {'compiled' if core.EXTENSIONS_LOADED else 'pure twins'} "
            f"from {os.path.dirname(core.__file__)}")
