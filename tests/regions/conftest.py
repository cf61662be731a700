from __future__ import annotations

import polars as pl
import pytest

from dixian.regions import selectors
from dixian.regions.services import DEFAULT_PATH

XIYANG = "140724000000"


@pytest.fixture(autouse=True)
def _fresh_region_cache():
    """Selectors cache names in-process; tests roll the database back, so start and end clean."""
    selectors.clear_cache()
    yield
    selectors.clear_cache()


@pytest.fixture(scope="session")
def shanxi_frame() -> pl.DataFrame:
    """The shipped file as a frame (no database)."""
    return pl.read_csv(DEFAULT_PATH, infer_schema=False).with_columns(pl.col("parent_code").fill_null(""))


@pytest.fixture(scope="session")
def xiyang_rows(shanxi_frame) -> list[tuple[str, str, str, str]]:
    """昔阳县 with its townships and villages, plus 晋中市 and 山西省, as matcher rows."""
    frame = shanxi_frame.filter(
        pl.col("code").str.starts_with("140724") | pl.col("code").is_in(["140700000000", "140000000000"])
    )
    return frame.select("code", "name", "level", "parent_code").rows()


@pytest.fixture
def shanxi_db(db):
    """The shipped file is loaded once per session by tests/conftest.py; this only asks for the DB."""
    yield
