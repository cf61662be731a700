"""The demo county's departments' files: every type loads without refusals and a first screening has
alerts of several rules, including people not registered."""

from __future__ import annotations

from datetime import date

import pytest

from dixian.core.audit import Actor
from dixian.registry.demo import generate_ledger, write_ledger
from dixian.registry.services import import_ledger
from dixian.screening.demo import HEADERS, load_demo_feeds
from dixian.screening.models import Alert, FeedFile

pytestmark = pytest.mark.django_db


def test_demo_feeds_load_cleanly_and_raise_alerts(tmp_path):
    path = write_ledger(generate_ledger(county_code="140724", seed=3, persons=3000), tmp_path / "demo.csv")
    import_ledger(actor=Actor.cli(), path=path)
    n = load_demo_feeds(
        actor=Actor.cli(), out_dir=tmp_path / "feeds", county="140724000000", as_of=date(2026, 6, 30)
    )
    files = FeedFile.objects.all()
    assert {f.feed_type for f in files} == set(HEADERS)
    assert all(f.rows_refused == 0 for f in files), {f.feed_type: f.refusals for f in files}
    assert n == Alert.objects.count() > 0
    rules = set(Alert.objects.values_list("rule_code", flat=True))
    assert {"medical_registered", "medical_unregistered", "disaster_unregistered"} <= rules
    # a second load of the same day's files is refused file by file and adds no alerts of its own
    again = load_demo_feeds(
        actor=Actor.cli(), out_dir=tmp_path / "feeds", county="140724000000", as_of=date(2026, 6, 30)
    )
    assert FeedFile.objects.count() == len(HEADERS) and again == 0
