"""core.bulk.ahead: rows produced by a thread ahead of the consumer, in order, with its errors."""

from __future__ import annotations

import threading

import pytest

from dixian.core.bulk import ahead


def test_ahead_yields_every_row_in_order_from_another_thread():
    seen = set()

    def rows():
        for i in range(10_007):
            seen.add(threading.current_thread().name)
            yield (i, str(i))

    assert list(ahead(rows(), chunk=100)) == [(i, str(i)) for i in range(10_007)]
    assert seen == {"dixian-rows"}


def test_ahead_hands_the_producers_error_to_the_consumer_after_the_rows_before_it():
    def rows():
        yield 1
        yield 2
        raise ValueError("坏行")

    got = []
    with pytest.raises(ValueError, match="坏行"):
        for r in ahead(rows(), chunk=1):
            got.append(r)
    assert got == [1, 2]


def test_ahead_stops_the_producer_when_the_consumer_stops_early():
    produced = []

    def rows():
        for i in range(1_000_000):
            produced.append(i)
            yield i

    it = ahead(rows(), chunk=10)
    assert [next(it) for _ in range(5)] == [0, 1, 2, 3, 4]
    it.close()  # the generator's finally stops and drains the thread
    assert len(produced) < 1_000_000
    assert not any(t.name == "dixian-rows" and t.is_alive() for t in threading.enumerate())
