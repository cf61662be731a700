"""Shared fixtures: the region tree and the deployment (昔阳县) are loaded once per test session."""

from __future__ import annotations

import pytest

XIYANG = "140724000000"
LEPING = "140724100000"  # 乐平镇
LIANGJIAGOU = "140724100204"  # 乐平镇 梁家沟村
LIFUYU = "140724100205"  # 乐平镇 李夫峪村
GAOLUO = "140724101000"  # 皋落镇
SONGXILU = "140724400001"  # 城区 松溪路社区


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


def make_user(username, role, region_code, **extra):
    from dixian.accounts.models import User

    user = User.objects.create(
        username=username,
        role=role,
        region_code=region_code,
        full_name=extra.pop("full_name", username),
        **extra,
    )
    user.set_password("secret-pass-1")
    user.save()
    return user


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
