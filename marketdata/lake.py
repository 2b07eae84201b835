"""Where a Parquet lake lives: a local folder or an object-store URL, through pyarrow filesystems.

``s3://bucket/lake``, ``gs://bucket/lake``, ``abfs://...`` and ``file:///abs/dir`` resolve through
``pyarrow.fs.FileSystem.from_uri``; any other scheme fsspec knows (``memory://``, ``az://``, ...)
is wrapped in ``pyarrow.fs.PyFileSystem(FSSpecHandler(...))``. A plain path is a local folder.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from marketdata.errors import StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lake:
    """A filesystem and the root path of the lake inside it."""

    fs: pafs.FileSystem
    root: str
    local: bool

    def path(self, *parts: str) -> str:
        """The path of ``parts`` under the root (forward slashes, as every pyarrow filesystem wants)."""
        return "/".join([self.root.rstrip("/"), *parts])

    def write_atomic(self, path: str, table: pa.Table, **options: object) -> None:
        """Write ``table`` to a temporary name, then move it over ``path``.

        Locally the rename is atomic (readers see the old file or the new one). On object stores
        a move is a copy then a delete; each object still appears whole, never half written.
        """
        folder = path.rsplit("/", 1)[0]
        self.fs.create_dir(folder, recursive=True)
        tmp = f"{folder}/.part.{uuid.uuid4().hex}.tmp"
        try:
            pq.write_table(table, tmp, filesystem=self.fs, **options)
            self.fs.move(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.delete_file(tmp)
            raise

    def files(self, folder: str, recursive: bool = False) -> list[str]:
        """Paths of the plain files under ``folder`` (none when it does not exist), sorted."""
        selector = pafs.FileSelector(folder, allow_not_found=True, recursive=recursive)
        infos = self.fs.get_file_info(selector)
        return sorted(i.path for i in infos if i.type == pafs.FileType.File)

    def dirs(self, folder: str) -> list[str]:
        """Names of the folders directly under ``folder``."""
        selector = pafs.FileSelector(folder, allow_not_found=True)
        infos = self.fs.get_file_info(selector)
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)

    def exists(self, path: str) -> bool:
        """True when ``path`` is a file."""
        return self.fs.get_file_info(path).type == pafs.FileType.File

    def delete(self, path: str) -> None:
        """Remove the file ``path`` if it exists."""
        if self.exists(path):
            self.fs.delete_file(path)


def open_lake(location: str | Path) -> Lake:
    """The lake at ``location``: a local folder path or a filesystem URL."""
    text = str(location)
    if "://" not in text:
        return Lake(pafs.LocalFileSystem(), str(Path(text).resolve()), True)
    try:
        fs, root = pafs.FileSystem.from_uri(text)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        fs, root = _fsspec(text)
    return Lake(fs, root.rstrip("/") or "/", isinstance(fs, pafs.LocalFileSystem))


def _fsspec(url: str) -> tuple[pafs.FileSystem, str]:
    try:
        import fsspec
        from fsspec.core import split_protocol
    except ImportError as exc:  # pragma: no cover - fsspec ships with the project's deps
        raise StoreError(f"no filesystem for {url!r}: unknown to pyarrow, and no fsspec") from exc
    protocol, path = split_protocol(url)
    try:
        fs = fsspec.filesystem(protocol)
    except (ImportError, ValueError) as exc:
        raise StoreError(f"no filesystem for {url!r}: {exc}") from exc
    log.debug("lake %s through fsspec %s", url, type(fs).__name__)
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), fs._strip_protocol(path or "")
