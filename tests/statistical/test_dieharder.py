"""A bounded run of Debian's dieharder on `ctrng raw`: one stream, 16 rank
streams woven word by word, and 16 adjacent roots woven the same way, each
through 22 of dieharder's tests at their default sizes (about 90 s of CPU an
input; an input's tests run side by side, one per core).  Any FAILED verdict
fails the test; WEAK verdicts (p outside [0.005, 0.995], expected about once
in 100 results) are counted and reported.  A known-bad control, Philox4x32
cut to 4 rounds, must fail.

What runs where: the default run puts the 16 woven ranks through all 22
tests (each woven stream is itself a stream, so this full battery sees
single-stream defects as well as ones between ranks), and the other two
inputs through QUICK, 10 of the 22 from different families (about a fifth of
the battery's time, the DCT and lagged-sum tests among them); the other 12
tests on those two inputs are marked slow (`python -m pytest -m slow`), so
the default and slow runs together are the three full batteries.

`.ci/run` installs dieharder; elsewhere these tests skip without it.
Longer batteries: README, "Statistical testing with PractRand and dieharder".
"""

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from ctrng._core.threads import cpu_count

BATTERY = [0, 1, 3, 4, 8, 9, 10, 11, 12, 13, 15, 16, 100, 101, 102, 202, 203, 205, 206, 207, 208, 209]
INPUTS = {
    "one stream": [],
    "16 ranks woven": ["--interleave-ranks", "16"],
    "16 adjacent roots woven": ["--interleave-roots", "16"],
}
# Birthdays, bitstream, count-1s stream, parking, 2D minimum distance, runs,
# monobit, lagged sum, DCT, fill tree 2: the cheap part of BATTERY.
QUICK = [0, 4, 8, 10, 11, 15, 100, 203, 206, 208]
REST = [d for d in BATTERY if d not in QUICK]
RUNS = [pytest.param("16 ranks woven", BATTERY, id="16 ranks woven")] + [
    param for name in ("one stream", "16 adjacent roots woven")
    for param in (pytest.param(name, QUICK, id=f"{name}, quick"),
                  pytest.param(name, REST, id=f"{name}, rest", marks=pytest.mark.slow))]


def _dieharder():
    path = shutil.which("dieharder")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("dieharder is not installed (.ci/run installs Debian's package)")
        pytest.skip("dieharder is not installed (apt install dieharder)")
    return path


def _verdict(raw_args, d):
    """(test, verdict, p-value) for each result line of dieharder test d."""
    raw = subprocess.Popen([sys.executable, "-m", "ctrng", "raw", "--root", "2024", *raw_args],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        out = subprocess.run([_dieharder(), "-g", "200", "-d", str(d)], stdin=raw.stdout, capture_output=True,
                             text=True, timeout=300).stdout
    finally:
        raw.stdout.close()
        raw.kill()
        raw.wait()
    lines = [line.split("|") for line in out.splitlines() if line.count("|") >= 5]
    found = [(cells[0].strip(), cells[5].strip(), float(cells[4])) for cells in lines
             if cells[5].strip() in ("PASSED", "WEAK", "FAILED")]
    assert found, f"dieharder -d {d} gave no verdict:\n{out[-2000:]}"
    return found


def _verdicts(raw_args, tests):
    """The verdicts of several dieharder tests, run side by side, one per core
    (each is a single-threaded dieharder reading its own `ctrng raw`)."""
    with ThreadPoolExecutor(max_workers=cpu_count()) as pool:
        return [r for found in pool.map(lambda d: _verdict(raw_args, d), tests) for r in found]


@pytest.mark.parametrize("name, tests", RUNS)
def test_dieharder_battery(name, tests, record_property):
    results = _verdicts(INPUTS[name], tests)
    failed = [r for r in results if r[1] == "FAILED"]
    weak = [r for r in results if r[1] == "WEAK"]
    record_property("dieharder_results", len(results))
    record_property("dieharder_weak", len(weak))
    print(f"{name}: {len(results)} results, {len(weak)} WEAK {weak}, {len(failed)} FAILED")
    assert not failed, failed
    assert len(weak) <= 5, weak  # 1 % each: more than 5 of ~60 has probability below 1e-3


def test_dieharder_flags_a_weak_generator():
    results = _verdicts(["--rounds", "4"], [0, 4, 206])
    assert [r for r in results if r[1] == "FAILED"], results
