"""Fixtures of the monitoring tests: a small registry and the accounts that take each review step."""

from __future__ import annotations

import pytest
from wf import registry

from dixian.monitoring.workflow import Step

from testdata import make_user


@pytest.fixture
def households(tmp_path):
    return registry(tmp_path)


@pytest.fixture
def staff(db):
    return make_user("yibao", "county_staff", "140724000000")


@pytest.fixture
def actors(village_cadre, township_cadre, county_admin, staff):
    return {
        Step.VERIFY: village_cadre,
        Step.CROSS_CHECK: staff,
        Step.VILLAGE_REVIEW: village_cadre,
        Step.PUBLICITY: village_cadre,
        Step.TOWNSHIP_REVIEW: township_cadre,
        Step.COUNTY_APPROVAL: county_admin,
    }
