"""Formats whose first read of a chosen piece, spill section or part file
kills the process doing it (SIGKILL), once per marker file: run as Dask
tasks, they kill a worker in the middle of a shuffle (importable by the
workers: tests/ is on their path)."""

import os
import signal

from ctrng.shuffle.spans import SpansFormat


def _die_once(marker):
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


class DyingLines(SpansFormat):
    """Lines whose piece `piece`, group starting at partition `partition`
    and part file `part` each kill their worker the first time they are read
    (markers in `folder`)."""

    def __init__(self, sources, folder, piece=None, partition=None, part=None):
        super().__init__("lines", sources)
        self.folder, self.victims = folder, {"piece": piece, "partition": partition, "part": part}

    def read(self, piece):
        if self.pieces_seen(piece) == self.victims["piece"]:
            _die_once(os.path.join(self.folder, "piece"))
        return super().read(piece)

    def pieces_seen(self, piece):
        return self.pieces(self.limit).index(piece)

    def read_spill(self, spills, pa, pb):
        if pa == self.victims["partition"]:
            _die_once(os.path.join(self.folder, "spill"))
        return super().read_spill(spills, pa, pb)

    def read_part(self, path, lo, hi):
        if os.path.basename(path) == self.victims["part"]:
            _die_once(os.path.join(self.folder, "part"))
        return super().read_part(path, lo, hi)
