"""Shared fixtures: the region tree and the deployment (昔阳县) are loaded once per test session."""

from __future__ import annotations

import pytest
from hypothesis import settings as hypothesis_settings

from testdata import GAOLUO, LEPING, LIANGJIAGOU, LIFUYU, XIYANG, make_user  # noqa: F401

# Property tests check results, not speed: on a shared 2-core CI machine a generated example may take
# longer than hypothesis' default 200 ms deadline without anything being wrong.
hypothesis_settings.register_profile("dixian", deadline=None)
hypothesis_settings.load_profile("dixian")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from dixian.core.models import Deployment
    from dixian.regions.services import load_regions

    with django_db_blocker.unblock():
        load_regions()
        Deployment.objects.get_or_create(jurisdiction_code=XIYANG, defaults={"name": "昔阳县"})
    yield


@pytest.fixture(autouse=True)
def _fresh_region_cache():
    from dixian.regions import selectors

    selectors.clear_cache()
    yield
    selectors.clear_cache()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.fixture
def county_admin(db):
    return make_user("admin", "county_admin", XIYANG)


@pytest.fixture
def leader(db):
    return make_user("leader", "leader", XIYANG)


@pytest.fixture
def township_cadre(db):
    return make_user("leping", "township_cadre", LEPING)


@pytest.fixture
def other_township_cadre(db):
    return make_user("gaoluo", "township_cadre", GAOLUO)


@pytest.fixture
def village_cadre(db):
    return make_user("liangjiagou", "village_cadre", LIANGJIAGOU)


@pytest.fixture
def other_village_cadre(db):
    return make_user("lifuyu", "village_cadre", LIFUYU)
