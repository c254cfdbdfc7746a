"""Print a markdown table of speed ratios (NumPy time / ctrng time) from
pytest-benchmark JSON files written by benchmarks/test_bench_core.py.

    python -m pytest benchmarks --benchmark-only --benchmark-json=bench.json
    python benchmarks/ratios.py bench.json [more.json ...] [--stat min|median|mean]

Above 1 means ctrng is faster than NumPy's PCG64 for that case.  Given
several runs, each time is the lowest of the runs' statistics, for NumPy and
ctrng alike: on a shared machine a slow spell can last as long as a whole
benchmark group, and the best run of each is the least disturbed one.
"""

from __future__ import annotations

import argparse
import json
import sys

BASELINE = "numpy-pcg64"
COLUMNS = [("ctrng-1t", "1 thread"), ("ctrng-all", "all threads")]


def ratio_table(runs, stat="min"):
    """The markdown table (a str) for loaded pytest-benchmark JSON dicts (one
    run or several: each time is then the lowest over the runs)."""
    if isinstance(runs, dict):
        runs = [runs]
    cases = {}  # (dist, n) -> {impl: seconds}
    threads = set()
    for b in (b for data in runs for b in data["benchmarks"]):
        info = b.get("extra_info", {})
        if "impl" not in info:
            continue
        times = cases.setdefault((info["dist"], info["n"]), {})
        times[info["impl"]] = min(times.get(info["impl"], float("inf")), b["stats"][stat])
        if info["impl"] == "ctrng-all":
            threads.add(info["threads"])
    used = [(impl, title) for impl, title in COLUMNS if any(impl in c for c in cases.values())]
    all_label = f"all threads ({', '.join(map(str, sorted(threads)))})" if threads else "all threads"
    titles = [title.replace("all threads", all_label) for _, title in used]
    scaling = len(used) == len(COLUMNS)  # ctrng's own all-threads speed-up
    if scaling:
        titles.append("all / 1 thread")
    lines = ["| distribution | n | " + " | ".join(titles) + " |",
             "|---|---:|" + "---:|" * len(titles)]
    for (dist, n), times in cases.items():
        base = times.get(BASELINE)
        cells = []
        for impl, _ in used:
            t = times.get(impl)
            cells.append("-" if base is None or t is None else f"{base / t:.2f}")
        if scaling:
            one, every = (times.get(impl) for impl, _ in COLUMNS)
            cells.append("-" if one is None or every is None else f"{one / every:.2f}")
        lines.append(f"| {dist} | {_size(n)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _size(n):
    digits = str(n)
    if digits.startswith("1") and set(digits[1:]) <= {"0"} and n >= 10:
        return f"10^{len(digits) - 1}"
    return f"{n:,}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="file(s) written by --benchmark-json")
    parser.add_argument("--stat", choices=["min", "median", "mean"], default="min",
                        help="statistic compared (default min: the least disturbed round)")
    args = parser.parse_args(argv)
    runs = []
    for path in args.json:
        with open(path) as f:
            runs.append(json.load(f))
    table = ratio_table(runs, args.stat)
    if table.count("\n") < 2:
        print(f"{' '.join(args.json)}: no benchmarks from benchmarks/test_bench_core.py", file=sys.stderr)
        return 1
    best = f", lowest of {len(runs)} runs" if len(runs) > 1 else ""
    print(f"Ratio = NumPy PCG64 time / ctrng time ({args.stat} of the rounds{best}); "
          "above 1: ctrng is faster.\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
