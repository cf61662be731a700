"""Reads of the reports app, scoped to the user's region (denied means not found)."""

from __future__ import annotations

from datetime import date

from dixian.indicators.selectors import region_for
from dixian.reports import briefing


def briefing_preview(*, user, region_code: str, as_of: date, since: date) -> briefing.Briefing:
    """The briefing as the page previews it (not a download, so not an audited event)."""
    region = region_for(user=user, region_code=region_code)
    return briefing.render(region_code=region.code, as_of=as_of, since=since)
