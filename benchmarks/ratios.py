"""Print a markdown table of speed ratios (NumPy time / ctrng time) from
pytest-benchmark JSON files written by benchmarks/test_bench_*.py (the
cases that name their `impl`: core, shuffle and small draws).

    python -m pytest benchmarks --benchmark-only --benchmark-json=bench.json
    python benchmarks/ratios.py bench.json [more.json ...] [--stat min|median|mean] [--same-run]

Above 1 means ctrng is faster than NumPy's PCG64 for that case.  Given
several runs, each time is the lowest of the runs' statistics, for NumPy and
ctrng alike: on a shared machine a slow spell can last as long as a whole
benchmark group, and the best run of each is the least disturbed one.  With
--same-run, each ratio is instead taken within one run (NumPy and ctrng
side by side) and the table gives the median over the runs, with the lowest
and highest beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

BASELINE = "numpy-pcg64"
COLUMNS = [("ctrng-1t", "1 thread"), ("ctrng-all", "all threads")]


def _times(runs, stat):
    """{(dist, n): {impl: seconds}} over the runs (the lowest of each), and
    the thread counts of the all-threads cases."""
    cases, threads = {}, set()
    for b in (b for data in runs for b in data["benchmarks"]):
        info = b.get("extra_info", {})
        if "impl" not in info:
            continue
        times = cases.setdefault((info["dist"], info["n"]), {})
        times[info["impl"]] = min(times.get(info["impl"], float("inf")), b["stats"][stat])
        if info["impl"] == "ctrng-all":
            threads.add(info["threads"])
    return cases, threads


def _ratios(times, used, scaling):
    """NumPy / ctrng for each used column, then ctrng's 1-thread / all-threads
    time when `scaling`; None where a time is missing."""
    base = times.get(BASELINE)
    cells = [None if base is None or times.get(impl) is None else base / times[impl] for impl, _ in used]
    if scaling:
        one, every = (times.get(impl) for impl, _ in COLUMNS)
        cells.append(None if one is None or every is None else one / every)
    return cells


def ratio_table(runs, stat="min", same_run=False):
    """The markdown table (a str) for loaded pytest-benchmark JSON dicts (one
    run or several: each time is then the lowest over the runs, or with
    same_run each ratio the median of the runs' own)."""
    if isinstance(runs, dict):
        runs = [runs]
    cases, threads = _times(runs, stat)
    used = [(impl, title) for impl, title in COLUMNS if any(impl in c for c in cases.values())]
    all_label = f"all threads ({', '.join(map(str, sorted(threads)))})" if threads else "all threads"
    titles = [title.replace("all threads", all_label) for _, title in used]
    scaling = len(used) == len(COLUMNS)  # ctrng's own all-threads speed-up
    if scaling:
        titles.append("all / 1 thread")
    per_run = [_times([data], stat)[0] for data in runs] if same_run else []
    lines = ["| distribution | n | " + " | ".join(titles) + " |",
             "|---|---:|" + "---:|" * len(titles)]
    for case, times in cases.items():
        if not same_run:
            cells = ["-" if r is None else f"{r:.2f}" for r in _ratios(times, used, scaling)]
        else:
            columns = zip(*(_ratios(run.get(case, {}), used, scaling) for run in per_run))
            cells = []
            for values in columns:
                values = [v for v in values if v is not None]
                cells.append("-" if not values else f"{statistics.median(values):.2f} "
                             f"({min(values):.2f}-{max(values):.2f})")
        lines.append(f"| {case[0]} | {_size(case[1])} | " + " | ".join(cells) + " |")
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
    parser.add_argument("--same-run", action="store_true",
                        help="ratios within each run: the median over the runs (and their range)")
    args = parser.parse_args(argv)
    runs = []
    for path in args.json:
        with open(path) as f:
            runs.append(json.load(f))
    table = ratio_table(runs, args.stat, args.same_run)
    if table.count("\n") < 2:
        print(f"{' '.join(args.json)}: no NumPy-against-ctrng benchmarks in these files", file=sys.stderr)
        return 1
    if len(runs) == 1:
        how = ""
    elif args.same_run:
        how = f"; each ratio within one run, the median of {len(runs)} runs (lowest-highest)"
    else:
        how = f", lowest of {len(runs)} runs"
    print(f"Ratio = NumPy PCG64 time / ctrng time ({args.stat} of the rounds{how}); "
          "above 1: ctrng is faster.\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
