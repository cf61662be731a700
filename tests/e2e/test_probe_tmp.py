import time

import pytest

SNAP = []

@pytest.mark.parametrize("i", [1, 2, 3])
def test_probe(transactional_db, i):
    from dixian.regions.models import Region
    from dixian.regions.services import DEFAULT_PATH, load_regions, prepare_regions, read_region_file
    n = Region.objects.count()
    if i == 1:
        t = time.perf_counter(); SNAP.extend(Region.objects.all()); print("snapshot", time.perf_counter() - t)
        t = time.perf_counter(); f = prepare_regions(read_region_file(DEFAULT_PATH)); print("polars", time.perf_counter() - t)
    elif i == 2:
        t = time.perf_counter(); load_regions(); print("load_regions", time.perf_counter() - t)
    else:
        t = time.perf_counter(); Region.objects.bulk_create(SNAP, batch_size=5000); print("bulk", time.perf_counter() - t)
    t = time.perf_counter(); Region.objects.filter(code__startswith="140724").count(); print(Region.objects.count())
