"""Formats whose first read of a chosen piece, spill section or part file
kills the process doing it (SIGKILL), once per marker file: run as Dask
tasks, they kill a worker in the middle of a shuffle (importable by the
workers: tests/ is on their path)."""

import os
import signal

from ctrng.shuffle.parquet import ParquetFormat  # imports pyarrow only when used
from ctrng.shuffle.spans import SpansFormat


def _die_once(marker):
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


class Dying:
    """A format whose piece `piece` (a piece of its plan), group starting
    at partition `partition` and part file named `part` each kill their
    worker the first time they are read (markers in `folder`)."""

    def die(self, folder, piece=None, partition=None, part=None):
        self.folder, self.victims = folder, {"piece": piece, "partition": partition, "part": part}
        return self

    def read(self, piece):
        if piece == self.victims["piece"]:
            _die_once(os.path.join(self.folder, "piece"))
        return super().read(piece)

    def read_spill(self, spills, pa, pb):
        if pa == self.victims["partition"]:
            _die_once(os.path.join(self.folder, "spill"))
        return super().read_spill(spills, pa, pb)

    def read_part(self, path, lo, hi):
        if os.path.basename(path) == self.victims["part"]:
            _die_once(os.path.join(self.folder, "part"))
        return super().read_part(path, lo, hi)


class DyingLines(Dying, SpansFormat):
    def __init__(self, sources, folder, **victims):
        SpansFormat.__init__(self, "lines", sources)
        self.die(folder, **victims)


class DyingParquet(Dying, ParquetFormat):
    def __init__(self, sources, folder, options, **victims):
        ParquetFormat.__init__(self, sources, **options)
        self.die(folder, **victims)
