"""Fixtures of the report tests: the demo ledger imported (counted by hand in handcount.py)."""

from __future__ import annotations

import pytest
from handcount import COUNTY, households_of  # noqa: F401


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory):
    from dixian.registry.demo import generate_ledger, write_ledger

    frame = generate_ledger(county_code=COUNTY, seed=7, persons=1500)
    path = write_ledger(frame, tmp_path_factory.mktemp("demo") / "demo.csv")
    return frame, path


@pytest.fixture
def demo(demo_ledger, db):
    """The demo ledger imported; returns the households counted by hand."""
    from dixian.core.audit import Actor
    from dixian.registry.services import import_ledger

    frame, path = demo_ledger
    import_ledger(actor=Actor.cli(), path=path)
    return households_of(frame)
