"""A 100,000-file folder: listed once with one scan, then served from memory."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from openwpd.server.store import ROOT, ObjectStore

N = 100_000


@pytest.mark.slow
def test_hundred_thousand_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    big = root / "big"
    big.mkdir(parents=True)
    for i in range(N):
        os.close(os.open(big / f"f{i:06d}.txt", os.O_CREAT | os.O_WRONLY, 0o644))
    with ObjectStore(state_dir=tmp_path / "state") as store:
        s = store.add_storage(root)
        folder = store.children(s.id, ROOT)
        assert [o.name for o in folder] == ["big"]

        t0 = time.perf_counter()
        first = store.children(s.id, folder[0].handle)
        t1 = time.perf_counter()
        assert len(first) == N

        # From here on nothing may touch the disk: count stat-family calls.
        stats = 0
        real = {name: getattr(os, name) for name in ("stat", "lstat", "scandir")}

        def counting(name: str):  # type: ignore[no-untyped-def]
            def call(*a, **kw):  # type: ignore[no-untyped-def]
                nonlocal stats
                stats += 1
                return real[name](*a, **kw)

            return call

        for name in real:
            monkeypatch.setattr(os, name, counting(name))
        t2 = time.perf_counter()
        second = store.children(s.id, folder[0].handle)
        t3 = time.perf_counter()
        for obj in second[:: N // 1000]:
            assert store.get(obj.handle) is obj
        assert stats == 0
        monkeypatch.undo()

        assert [o.handle for o in second] == [o.handle for o in first]
        assert t3 - t2 < t1 - t0  # the second listing is not slower: no re-scan
        assert t3 - t2 < 0.5
        print(f"first listing {t1 - t0:.2f}s, second {t3 - t2:.3f}s")

    # A restart reads the PUIDs back instead of creating 100k new ones.
    with ObjectStore(state_dir=tmp_path / "state") as again:
        s = again.add_storage(root)
        h = again.children(s.id, ROOT)[0].handle
        puids = {o.name: o.puid for o in again.children(s.id, h)}
        assert puids == {o.name: o.puid for o in first}
