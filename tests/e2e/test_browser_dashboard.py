"""The dashboard (驾驶舱) in a real browser: a township cadre sees only the township, the charts render
from the vendored ECharts (no network), clicking a village's bar in the breakdown chart drills down to
that village, and the table sorts.

Screenshots are CI artefacts: ``test-artifacts/e2e/dashboard-*.png`` under the project (git-ignored), or
under ``$DIXIAN_E2E_ARTIFACTS`` when set (the CI job uploads that directory).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dixian.core.audit import Actor
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv
from testdata import LEPING, LIANGJIAGOU, XIYANG

pytestmark = pytest.mark.e2e

PASSWORD = "secret-pass-1"  # tests/testdata.py make_user
PERIOD = "since=2023-01-01&as_of=2023-12-31"


@pytest.fixture
def artefacts(shots) -> Path:
    where = os.environ.get("DIXIAN_E2E_ARTIFACTS")
    path = Path(where) if where else shots
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def registry(tmp_path, e2e_db):
    """梁家沟村: H002 monitored (因病), H003 eliminated; 李夫峪村: H004; and a monitored household of
    皋落镇, which the 乐平镇 cadre must not see."""
    from dixian.monitoring.models import MonitoringCase
    from dixian.registry.models import Household

    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "seed.csv"))
    h = Household.objects.create(
        county_code=XIYANG,
        township_code="140724101000",
        village_code="140724101201",
        household_no="G0001",
        household_type="lifted",
        size=2,
    )
    MonitoringCase.objects.create(
        household=h,
        county_code=XIYANG,
        township_code=h.township_code,
        village_code=h.village_code,
        status="monitored",
        identified_month=202307,
        category="sudden_hardship",
        risks=["disaster"],
    )


def log_in(page: Page, base: str, user) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")


def test_township_cadre_dashboard_and_drill_down(
    page: Page, live_server, registry, township_cadre, page_errors, artefacts
):
    base = live_server.url
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    log_in(page, base, township_cadre)
    page.get_by_role("navigation").get_by_role("link", name="驾驶舱").click()
    expect(page.locator("h1")).to_have_text("驾驶舱 · 乐平镇")
    page.goto(f"{base}/figures/dashboard/?{PERIOD}")
    expect(page.locator("h1")).to_have_text("驾驶舱 · 乐平镇")

    # Only the township: its villages in the table and the chart, nothing of 皋落镇 or the county.
    rows = page.locator("#parts-table tbody tr")
    expect(rows.filter(has_text="梁家沟村")).to_have_count(1)
    expect(rows.filter(has_text="李夫峪村")).to_have_count(1)
    assert all(code.startswith(LEPING[:9]) for code in rows.evaluate_all("rs => rs.map(r => r.dataset.code)"))
    expect(page.locator("main")).not_to_contain_text("皋落镇")
    expect(page.locator('[data-code="monitored.households"] .value')).to_have_text("2户")
    options = page.locator("select[name=region] option").all_inner_texts()
    assert options[0] == "乐平镇" and not any("昔阳县" in o or "皋落镇" in o for o in options)

    # Every chart drew on a canvas, from the vendored script only.
    for chart in ("chart-trend", "chart-categories", "chart-risks", "chart-parts"):
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)
    assert all(u.startswith(base) for u in requests), [u for u in requests if not u.startswith(base)]
    expect(page.locator("main")).to_contain_text("预警发出口径")
    page.screenshot(path=str(artefacts / "dashboard-township.png"), full_page=True)

    # The table sorts by a column (descending first for numbers).
    header = page.locator("#parts-table thead th").filter(has_text="监测对象户数").first
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_have_attribute("data-code", LIANGJIAGOU)

    # Click 梁家沟村's bar in the breakdown chart: the village's dashboard opens.
    names = page.evaluate(
        "JSON.parse(document.getElementById('dash-data').textContent).parts.map(p => p.name)"
    )
    index = names.index("梁家沟村")
    x, y = page.evaluate(
        """(i) => {
            const chart = window.dixianCharts["chart-parts"];
            const opt = chart.getOption();
            const top = opt.series[0].data[i] + opt.series[1].data[i];
            return chart.convertToPixel({seriesIndex: 1}, [i, top - 0.5]);
        }""",
        index,
    )
    box = page.locator("#chart-parts canvas").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("h1")).to_have_text("驾驶舱 · 梁家沟村")
    assert f"region={LIANGJIAGOU}" in page.url and "as_of=2023-12-31" in page.url
    expect(page.locator('[data-code="monitored.households"] .value')).to_have_text("2户")
    page.screenshot(path=str(artefacts / "dashboard-village.png"), full_page=True)

    assert page_errors == [], page_errors

    # Another township by URL: not found.
    response = page.goto(f"{base}/figures/dashboard/?region=140724101000")
    assert response.status == 404
