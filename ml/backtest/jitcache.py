"""Keep numba's on-disk cache of the kernels honest about the files they call into.

numba checks only the source file of a cached function, so a kernel that inlines the shared
step (:mod:`ml.backtest.step`) or the cost formulas (:mod:`ml.costs.formulas`) would keep
running their old code after an edit. :func:`refresh_cache` stores a digest of those sources
beside each cached kernel and empties the kernel's cache when the digest changed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)


def sources_digest(modules: Iterable[ModuleType]) -> str:
    """SHA-256 over the source files of ``modules``."""
    h = hashlib.sha256()
    for m in modules:
        h.update(Path(str(m.__file__)).read_bytes())
    return h.hexdigest()


def refresh_cache(namespace: Mapping[str, Any], deps: Iterable[ModuleType]) -> None:
    """Flush the on-disk cache of every cached numba function defined in ``namespace`` (a
    module's globals) whose stored digest of ``deps`` differs from theirs now."""
    digest = sources_digest(deps)
    module = namespace["__name__"]
    for name, obj in namespace.items():
        cache = getattr(obj, "_cache", None)
        py_func = getattr(obj, "py_func", None)
        if cache is None or py_func is None or py_func.__module__ != module:
            continue
        path = cache.cache_path
        if path is None:  # not cached
            continue
        stamp = Path(path) / f"{module}.{name}.deps"
        try:
            if stamp.read_text() == digest:
                continue
        except OSError:
            pass
        cache.flush()
        try:
            stamp.write_text(digest)
        except OSError as exc:  # a read-only cache folder: numba falls back the same way
            log.debug("cannot write %s: %s", stamp, exc)
