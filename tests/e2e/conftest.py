"""Browser tests: pytest-django's live server, Debian's chromium driven by Playwright's sync API.

Database: ``live_server`` makes every test here a ``transactional_db`` test (pytest-django runs them
after the ordinary ``db`` tests). Such a test commits for real and Django *flushes every table* when
it ends, so the region tree and the deployment that tests/conftest.py loads once per session are gone
for the next browser test. ``e2e_db`` puts them back when they are missing: the regions of 昔阳县 with
its city and province (all the county deployment reads; 264 rows, about 15 ms) instead of the whole
province (23 380 rows, about 0.8 s). In-memory SQLite works because the live server thread shares the
test thread's connection; on PostgreSQL the server's connections see the committed rows.

Playwright's sync API keeps an asyncio loop running in this thread, so Django would refuse the test's
own ORM calls as "async-unsafe"; ``browser`` sets DJANGO_ALLOW_ASYNC_UNSAFE while it is open.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import polars as pl
import pytest

from testdata import XIYANG

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--lang=zh-CN",
]
VIEWPORT = {"width": 1400, "height": 900}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
        if page is not None and not page.is_closed():
            shots = item.config.rootpath / "test-artifacts" / "e2e"
            shots.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", item.name)
            # The page may be mid-navigation; the failure itself matters more than its picture.
            with contextlib.suppress(Exception):
                page.screenshot(path=str(shots / f"FAILED-{name}.png"), full_page=True)
    return report


@pytest.fixture(scope="session")
def county_regions_csv(tmp_path_factory) -> Path:
    """昔阳县, its townships and villages, 晋中市 and 山西省, cut from the shipped region file."""
    from dixian.regions.services import DEFAULT_PATH

    frame = pl.read_csv(DEFAULT_PATH, infer_schema=False).filter(
        pl.col("code").str.starts_with(XIYANG[:6]) | pl.col("code").is_in(["140700000000", "140000000000"])
    )
    path = tmp_path_factory.mktemp("regions") / "regions-xiyang.csv"
    frame.write_csv(path)
    return path


@pytest.fixture
def e2e_db(transactional_db, county_regions_csv):
    """The region tree and the deployment, put back if an earlier transactional test flushed them."""
    from dixian.core.models import Deployment
    from dixian.regions import selectors
    from dixian.regions.models import Region
    from dixian.regions.services import load_regions

    if not Region.objects.filter(code=XIYANG).exists():
        load_regions(path=county_regions_csv)
    Deployment.objects.get_or_create(jurisdiction_code=XIYANG, defaults={"name": "昔阳县"})
    selectors.clear_cache()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught script errors and console errors of ``page``; a test asserts on them."""
    return []


@pytest.fixture
def page(browser, live_server, e2e_db, page_errors):
    """A fresh browser context (no cookies) at 1400×900 on the live server."""
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    context = browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda exc: page_errors.append(f"page error: {exc}"))

    def on_console(msg):
        where = msg.location.get("url", "")
        # The site has no favicon; chromium asks for one now and then (timing varies).
        if msg.type == "error" and not where.endswith("/favicon.ico"):
            page_errors.append(f"{msg.text} [{where}]")

    page.on("console", on_console)
    yield page
    context.close()


@pytest.fixture(scope="session")
def shots(pytestconfig) -> Path:
    """test-artifacts/e2e/ under the project (git-ignored)."""
    path = pytestconfig.rootpath / "test-artifacts" / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path
