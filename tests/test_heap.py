"""The collector is settled once a service process has started, and can be put back."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from approvals import heap
from approvals.api import Settings, create_app


def test_settle_freezes_the_heap_and_unsettle_puts_it_back() -> None:
    before = gc.get_threshold()
    kept = object.__new__(type("Kept", (), {}))  # a container alive at settling time
    returned = heap.settle()
    try:
        assert returned == before
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, before[1], before[2])
        assert not any(o is kept for o in gc.get_objects())  # frozen: not walked
    finally:
        heap.unsettle(returned)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_the_apps_start_up_settles_the_collector(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}"))
    before = gc.get_threshold()

    async def start_and_stop() -> tuple[int, tuple[int, int, int]]:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count(), gc.get_threshold()

    try:
        frozen, during = asyncio.run(start_and_stop())
    finally:
        heap.unsettle(before)
    assert frozen > 0
    assert during[0] == heap.YOUNG_THRESHOLD
