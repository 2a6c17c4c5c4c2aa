"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright):
it opens the page of a running ``liqframe run``, waits for live frames, and checks that the
consolidated depth chart drew liquidity from every venue the host reports up."""

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from liqframe.testing.web import default_config, running_host

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS_SCREENSHOT = Path(__file__).parent.parent / "docs" / "_static" / "dashboard.png"


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(apt-get install chromium); the dashboard test needs a real browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def api(url, key, path):
    request = urllib.request.Request(url + path, headers={"X-API-Key": key})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


DEPTH_BY_VENUE = """() => {
  const chart = Chart.getChart('depth-chart');
  const drawn = {};
  chart.data.datasets.forEach((dataset, i) => {
    const meta = chart.getDatasetMeta(i);
    // points the chart laid out on its canvas whose venue holds something there
    const points = meta.data.filter((element, j) => dataset.data[j].y > 0
      && Number.isFinite(element.x) && Number.isFinite(element.y)).length;
    drawn[dataset.venue] = (drawn[dataset.venue] || 0) + (meta.hidden ? 0 : points);
  });
  return drawn;
}"""


def test_dashboard_draws_every_venue_live(browser, tmp_path):
    # the generated key: exactly what an operator gets from `liqframe run`
    with running_host(default_config(), str(tmp_path)) as (url, key, lines):
        assert key, lines
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{url}#key={key}")
        page.wait_for_function("document.getElementById('status').dataset.state === 'live'",
                               timeout=20_000)
        # live: frames keep arriving, and the venues are all up and in the book
        page.wait_for_function("Number(document.body.dataset.frames || 0) >= 20",
                               timeout=30_000)
        up = {row["venue"] for row in api(url, key, "api/venues") if row["status"] == "up"}
        assert up == {"sim-a", "sim-b", "sim-c", "sim-d"}
        page.wait_for_function(
            "(venues) => { const v = document.getElementById('depth-chart').dataset.venues;"
            " return venues.every((name) => (v || '').split(',').includes(name)); }",
            arg=sorted(up), timeout=30_000)
        drawn = page.evaluate(DEPTH_BY_VENUE)
        assert set(drawn) >= up and all(drawn[v] > 0 for v in up), drawn
        # the other panels filled in from the same frames
        assert page.locator("#health tbody tr").count() == 4
        assert page.locator("#venue-books table").count() == 4
        assert page.locator("#events li").count() > 0
        assert page.evaluate("liqframe.charts.spread.data.datasets[0].data.length") > 5
        assert errors == []
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("LIQFRAME_DOCS_SCREENSHOT"):
            shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_dashboard_without_a_key_asks_for_one(browser, tmp_path):
    with running_host(default_config(), str(tmp_path)) as (url, key, _):
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#key-form:not([hidden])", timeout=10_000)
        page.fill("#key-input", "wrong")
        page.click("#key-form button")
        page.wait_for_function("document.getElementById('key-problem').textContent"
                               ".includes('unknown API key')", timeout=10_000)
        page.fill("#key-input", key)
        page.click("#key-form button")
        page.wait_for_function("document.getElementById('status').dataset.state === 'live'",
                               timeout=20_000)
