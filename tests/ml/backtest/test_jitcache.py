"""The kernels' numba cache is emptied when the code they inline from other files changes."""

from __future__ import annotations

import types
from pathlib import Path

from ml.backtest.jitcache import refresh_cache


class _Cache:
    def __init__(self, path: Path):
        self.cache_path, self.flushes = str(path), 0

    def flush(self) -> None:
        self.flushes += 1


def _kernel(cache: _Cache) -> types.SimpleNamespace:
    def py_func() -> None: ...

    py_func.__module__ = "kernels"
    return types.SimpleNamespace(_cache=cache, py_func=py_func)


def test_a_changed_dependency_flushes_the_kernel_cache_once(tmp_path: Path) -> None:
    dep_file = tmp_path / "dep.py"
    dep_file.write_text("x = 1\n")
    dep = types.ModuleType("dep")
    dep.__file__ = str(dep_file)
    cache = _Cache(tmp_path)
    namespace = {"__name__": "kernels", "simulate": _kernel(cache), "other": object()}
    refresh_cache(namespace, [dep])  # no digest stored yet: flushed
    refresh_cache(namespace, [dep])  # unchanged: kept
    assert cache.flushes == 1
    dep_file.write_text("x = 2\n")
    refresh_cache(namespace, [dep])
    assert cache.flushes == 2
    foreign = _Cache(tmp_path)
    imported = _kernel(foreign)
    imported.py_func.__module__ = "elsewhere"  # a kernel imported from another module: its own
    refresh_cache({"__name__": "kernels", "k": imported}, [dep])
    assert foreign.flushes == 0
