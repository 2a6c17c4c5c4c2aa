"""Schemathesis against the OpenAPI document of a running ``liqframe run``: generated
requests for every operation, each answer checked against the document (status codes,
content types, response schemas) and never a server error."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from liqframe.testing.web import default_config, running_host, web_section

KEY = "schema-key"


@pytest.fixture(scope="module")
def host_url(tmp_path_factory):
    config = default_config(web_section(keys=((KEY, "full"),),
                                        tiers=(("full", "0", 100, 1_000_000),)))
    with running_host(config, str(tmp_path_factory.mktemp("schema"))) as (url, _, _lines):
        yield url


@pytest.fixture(scope="module")
def api_schema(host_url):
    return schemathesis.openapi.from_url(host_url + "api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case):
    case.call_and_validate(headers={"X-API-Key": KEY})
