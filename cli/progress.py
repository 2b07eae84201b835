"""Progress bars (rich) for the long commands: ingest per partition, training per family and
epoch, optimisation. They draw on stderr, and only on a terminal: piped or captured output
stays as it was."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


def _progress() -> Progress:
    console = Console(stderr=True)
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, disable=not console.is_terminal)


@contextmanager
def steps(description: str, total: int | None) -> Iterator[Progress]:
    """A bar of ``total`` steps (a spinner when None); advance it with ``advance(task)``."""
    with _progress() as progress:
        progress.add_task(description, total=total)
        yield progress


def advance(progress: Progress, description: str | None = None, steps: int = 1) -> None:
    """``steps`` more on the bar ``steps`` opened, with a new description if given."""
    task = progress.task_ids[0]
    progress.update(task, advance=steps, description=description)


class _TrainingFeed(logging.Handler):
    """Turns the training code's log records into progress: a family registered, an epoch run."""

    def __init__(self, progress: Progress, families: TaskID, epochs: TaskID) -> None:
        super().__init__(logging.DEBUG)
        self.progress, self.families, self.epochs = progress, families, epochs

    def emit(self, record: logging.LogRecord) -> None:
        msg = str(record.msg)
        if record.name == "ml.training" and msg.startswith("registered"):
            family = record.args[-1] if isinstance(record.args, tuple) else ""
            self.progress.update(self.families, advance=1, description=f"trained {family}")
            self.progress.update(self.epochs, visible=False, completed=0)
        elif record.name == "ml.nets.trainer" and msg.startswith("epoch") and isinstance(record.args, tuple):
            epoch = int(str(record.args[0])) + 1
            self.progress.update(self.epochs, visible=True, completed=epoch, total=None,
                                 description=f"  epoch {epoch}")


@contextmanager
def training(families: list[str]) -> Iterator[None]:
    """Bars per model family and per epoch of the torch families, fed by the training code's logs."""
    with _progress() as progress:
        if progress.disable:
            yield
            return
        feed = _TrainingFeed(progress, progress.add_task("training", total=len(families)),
                             progress.add_task("  epoch", total=None, visible=False))
        loggers = [logging.getLogger("ml.training"), logging.getLogger("ml.nets.trainer")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.addHandler(feed)
            lg.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.removeHandler(feed)
                lg.setLevel(level)
