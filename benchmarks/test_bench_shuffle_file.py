"""Out-of-core shuffle against the machine's sequential copy speed.

Run (about a minute; writes 3 files of CTRNG_BENCH_FILE_MB MiB, default
1024, in a temporary directory on the disk holding $TMPDIR):

    python -m pytest benchmarks/test_bench_shuffle_file.py --benchmark-only --benchmark-json=file.json

Both sides end with the data on disk: `dd bs=4M conv=fsync` copies the file
(one sequential read and write), and ctrng.shuffle_file shuffles its 16-byte
records with a memory budget of a quarter of the file (two passes, then
fsync).  The ratio in extra_info (`vs_dd`: dd time / shuffle time) is the
shuffle's throughput as a fraction of a plain copy's; 0.5 would mean the
two passes run at copy speed.
"""

import os
import subprocess
import time

import numpy as np
import pytest

import ctrng

SIZE = int(os.environ.get("CTRNG_BENCH_FILE_MB", "1024")) << 20
RECORD = 16


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("shuffle_file") / "src.bin"
    block = np.arange((64 << 20) // 8, dtype=np.int64)
    with open(path, "wb") as f:
        for i in range(max(1, SIZE // (64 << 20))):
            f.write((block + i).tobytes())
    return path


def _dd(src, dst):
    t0 = time.perf_counter()
    subprocess.run(["dd", f"if={src}", f"of={dst}", "bs=4M", "conv=fsync", "status=none"], check=True)
    return time.perf_counter() - t0


def test_bench_shuffle_file(benchmark, source):
    dst, copy = source.with_name("out.bin"), source.with_name("copy.bin")
    dd_times = []

    def setup():  # untimed: clear the output, then time dd beside the round
        for path in (dst, copy):
            if path.exists():
                path.unlink()
        dd_times.append(_dd(source, copy))
        copy.unlink()

    def shuffle():
        ctrng.shuffle_file(source, dst, RECORD, key=ctrng.Key(1), memory=os.path.getsize(source) // 4)

    benchmark.group = "shuffle_file vs dd"
    benchmark.pedantic(shuffle, setup=setup, rounds=3, iterations=1)
    best = benchmark.stats.stats.min
    benchmark.extra_info.update(file_bytes=os.path.getsize(source), record_size=RECORD, dd_s=min(dd_times),
                                shuffle_s=best, vs_dd=min(dd_times) / best)
    assert os.path.getsize(dst) == os.path.getsize(source)
