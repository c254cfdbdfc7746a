"""The ``ctrng`` command line tool.

``ctrng raw``
    Write a raw stream (little-endian 32-bit words) to stdout, endless or
    ``--bytes N``, for PractRand, TestU01 or dieharder.  ``--interleave-ranks K``
    weaves the streams of K consecutive ranks word by word, so a test battery
    sees any correlation between workers.
``ctrng demo``
    Why ``seed + rank`` is unsafe, what ctrng does instead, and how fast it is
    here (a few seconds, CPU only).
``ctrng bench``
    A short table of speed ratios against NumPy's PCG64, per distribution.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import numpy as np

import ctrng

from ._core.bridge import stream_length
from ._core.kinds import RAW32, WORD_BYTES
from ._core.threads import cpu_count
from .bench import bench_cases, best_time, machine_line
from .key import ALGORITHMS, DEFAULT_ALGORITHM, Key
from .shuffle.files import shuffle_file
from .shuffle.jobs import parse_size

__all__ = ["main", "build_parser"]

_WORD32 = 1 << 32
# Words generated per write in `ctrng raw` (4 MiB): large enough that the
# per-call overhead vanishes, small enough to stay mostly in cache.
RAW_CHUNK_WORDS = 1 << 20
# Woven streams whose keys `ctrng raw` makes once (8 MiB of keys); a larger
# weave makes them as it goes, this many between two writes, so its output
# starts at once and its memory stays bounded whatever the count.
_KEPT_KEYS = 1 << 16


# -- argument types ----------------------------------------------------------
def _integer(text):
    """An int in decimal, 0x hex, 0o octal or 0b binary (underscores allowed)."""
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _byte_count(text):
    """A byte count for argparse (ctrng.shuffle.jobs.parse_size forms)."""
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive(text):
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text):
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


# -- ctrng raw ---------------------------------------------------------------
def _raw_keys(args, parser):
    """The woven streams as (count, key_at): key_at(i) is stream i's Key,
    made when it is needed, so a weave of any size starts writing at once
    in bounded memory.  The first and last keys are built here, which checks
    every key in between."""
    if args.interleave_ranks > 1 and args.interleave_roots > 1:
        parser.error("use --interleave-ranks or --interleave-roots, not both")
    if args.rank + args.interleave_ranks > _WORD32:
        parser.error(f"--rank {args.rank} with --interleave-ranks {args.interleave_ranks} "
                     f"goes past the last rank (2**32 - 1)")
    ranks = args.interleave_ranks

    def key_at(i):
        j, r = divmod(i, ranks)
        return ctrng.Key(args.root + j, rank=args.rank + r, stream=args.stream, algorithm=args.algorithm,
                         rounds=args.rounds)

    count = args.interleave_roots * ranks
    try:
        key_at(0), key_at(count - 1)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    return count, key_at


def _raw_blocks(count, key_at, start, total_bytes, chunk_words, threads):
    """Yield the output as (array, bytes to write from it), chunk by chunk:
    word j of each of the `count` streams in turn, then word j + 1.  A chunk
    holds per_rank words of every stream, or, for a weave too large for
    one, word j of `group` consecutive streams."""
    group = min(count, chunk_words, _KEPT_KEYS)  # streams generated between two writes
    per_rank = max(1, chunk_words // count) if group == count else 1
    keys = [key_at(i) for i in range(count)] if count <= _KEPT_KEYS else None
    stream_words = stream_length(key_at(0), RAW32)  # uint32 words in one stream
    bufs = np.empty((group, per_rank), np.uint32)
    woven = np.empty(per_rank * group, np.uint32) if group > 1 else None  # flat: any prefix is contiguous
    pos = start
    remaining = total_bytes  # None: endless
    while remaining is None or remaining > 0:
        want = per_rank
        if remaining is not None:
            want = min(want, -(-remaining // (WORD_BYTES * count)))  # ceil: words per stream still needed
        want = min(want, stream_words - pos)
        if want <= 0:
            return  # the end of the stream (2**64 blocks): practically never
        for lo in range(0, count, group):
            rows = min(group, count - lo)
            if per_rank == 1 and remaining is not None:
                rows = min(rows, -(-remaining // WORD_BYTES))  # the streams whose word j is still wanted
            rows = bufs[:rows]
            for i, buf in enumerate(rows, lo):
                ctrng.random_raw(keys[i] if keys else key_at(i), start=pos, out=buf[:want], threads=threads)
            if len(rows) == 1:
                out = rows[0, :want]
            else:
                out = woven[:want * len(rows)].reshape(want, len(rows))
                if len(rows) <= 4:  # column by column is faster for a few streams
                    for r in range(len(rows)):
                        out[:, r] = rows[r, :want]
                else:
                    np.copyto(out, rows[:, :want].T)
            nbytes = out.nbytes if remaining is None else min(out.nbytes, remaining)
            yield out, nbytes
            if remaining is not None:
                remaining -= nbytes
                if remaining == 0:
                    return
        pos += want


def _grow_pipe(f, size=1 << 20):
    """Ask for a larger pipe buffer (Linux): fewer context switches between
    writer and reader.  Harmless where unsupported."""
    try:
        import fcntl
        fcntl.fcntl(f.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (ImportError, OSError, ValueError, AttributeError):
        pass


def cmd_raw(args, parser):
    count, key_at = _raw_keys(args, parser)
    stream_words = stream_length(key_at(0), RAW32)
    if args.start >= stream_words:
        parser.error(f"--start must be below {stream_words} (2**{stream_words.bit_length() - 1}) "
                     f"words for {args.algorithm}, got {args.start}")
    if args.bytes is not None:
        words = -(-args.bytes // (WORD_BYTES * count))  # per stream
        if args.start + words > stream_words:
            parser.error(f"--bytes {args.bytes} from word {args.start} goes past the end of the stream "
                         f"({stream_words} words per rank)")
    if sys.stdout.isatty():
        parser.error("refusing to write binary data to a terminal: pipe it (ctrng raw | RNG_test stdin32) "
                     "or redirect it (ctrng raw --bytes 1M > file)")
    out = sys.stdout.buffer
    _grow_pipe(out)
    # A closed pipe (`ctrng raw | head -c 100`) ends the loop: see main().
    for arr, nbytes in _raw_blocks(count, key_at, args.start, args.bytes, args.chunk_words, args.threads):
        out.write(memoryview(arr).cast("B")[:nbytes])
    out.flush()
    if args.bytes is None:
        print("ctrng raw: reached the end of the stream (2**64 blocks)", file=sys.stderr)
    return 0


def _fmt(values):
    return "[" + ", ".join(f"{v:.6f}" for v in values) + "]"


# -- ctrng demo ---------------------------------------------------------------
def cmd_demo(args, parser):
    p = print
    k = 5
    p("1. The usual recipe: worker_seed = root_seed + rank")
    p("   Run A (root 100) and run B (root 101) are meant to be independent runs.")
    a = np.random.default_rng(100 + 1).random(k)
    b = np.random.default_rng(101 + 0).random(k)
    p(f"   run A, rank 1: np.random.default_rng(100 + 1).random({k}) = {_fmt(a)}")
    p(f"   run B, rank 0: np.random.default_rng(101 + 0).random({k}) = {_fmt(b)}")
    same = bool(np.array_equal(a, b))
    if same:
        p("   -> IDENTICAL numbers: both workers were seeded with 101, so their shuffles,")
        p("      initialisations and dropout masks are coupled, silently.")
    else:  # pragma: no cover - NumPy would have to change default_rng
        p("   -> different numbers (NumPy's default_rng changed?)")
    p()
    p("2. ctrng: every value is a pure function of (algorithm, root, rank, stream, position)")
    ka, kb = ctrng.Key(100, rank=1), ctrng.Key(101, rank=0)
    ca, cb = ctrng.random(ka, k), ctrng.random(kb, k)
    p(f"   run A, rank 1: ctrng.random(ctrng.Key(100, rank=1), {k}) = {_fmt(ca)}")
    p(f"   run B, rank 0: ctrng.random(ctrng.Key(101, rank=0), {k}) = {_fmt(cb)}")
    differ = not np.any(ca == cb)
    p(f"   -> {'different numbers' if differ else 'SOME EQUAL NUMBERS (unexpected)'}: "
      "distinct (root, rank, stream, position) tuples never share a cipher input,")
    p("      by construction, not by luck (see docs/guarantee.md).")
    n_check = 1 << 20
    whole = ctrng.random(ka, n_check, threads=1)
    parallel = ctrng.random(ka, n_check)
    chunked = np.concatenate([ctrng.random(ka, n_check // 4, start=s)
                              for s in range(0, n_check, n_check // 4)])
    reproducible = np.array_equal(whole, parallel) and np.array_equal(whole, chunked)
    p(f"   The same {n_check:,} numbers with threads=1, with all {cpu_count()} cores and in 4 chunks "
      f"(start=...): {'identical' if reproducible else 'NOT IDENTICAL (bug)'}.")
    p()
    n = args.n
    p(f"3. Speed here: n = {n:,}, best of {args.repeat}, against NumPy's PCG64")
    p(f"   {machine_line(cpu_count())}")
    rows = [c for c in bench_cases(n) if c.label in ("uniform float64", "normal float64", "raw uint32")]
    for label, np_fn, ct_fn in rows:
        t_np = best_time(np_fn, args.repeat)
        t_ct = best_time(lambda: ct_fn(None), args.repeat)
        p(f"   {label:<16} NumPy {n / t_np / 1e6:8.0f} M/s   ctrng {n / t_ct / 1e6:8.0f} M/s   "
          f"{t_np / t_ct:5.1f}x")
    p()
    p("Try `ctrng bench` for more distributions, `ctrng raw | <test battery>` for statistical tests.")
    return 0 if same and differ and reproducible else 1


# -- ctrng bench ----------------------------------------------------------------
def cmd_bench(args, parser):
    threads = args.threads or cpu_count()
    n = args.n
    print(f"ctrng bench: n = {n:,} elements, best of {args.repeat}, algorithm {args.algorithm}")
    print(machine_line(threads))
    print("ratio = NumPy PCG64 time / ctrng time (above 1: ctrng is faster)")
    print()
    head = (f"| {'distribution':<24} | {'NumPy ms':>9} | {'ctrng 1 thread ms':>17} | {'ratio':>6} | "
            f"{f'ctrng {threads} threads ms':>20} | {'ratio':>6} |")
    print(head)
    print("|" + "|".join("-" * (len(c) + 0) for c in head.split("|")[1:-1]) + "|")
    for label, np_fn, ct_fn in bench_cases(n, args.algorithm):
        t_np = best_time(np_fn, args.repeat)
        t_1 = best_time(lambda: ct_fn(1), args.repeat)
        t_all = best_time(lambda: ct_fn(threads), args.repeat)
        print(f"| {label:<24} | {t_np * 1e3:9.2f} | {t_1 * 1e3:17.2f} | {t_np / t_1:6.2f} | "
              f"{t_all * 1e3:20.2f} | {t_np / t_all:6.2f} |", flush=True)
    return 0


# -- ctrng shuffle-file ------------------------------------------------------
def cmd_shuffle_file(args, parser):
    src = args.src[0] if len(args.src) == 1 else args.src
    fmt = args.format or ("parquet" if all(_parquet_named(s) for s in args.src) else None)
    if fmt != "parquet" and (args.rows_per_file or args.row_group_size or args.compression):
        parser.error("--rows-per-file, --row-group-size and --compression are for --format parquet")
    if fmt == "parquet" and (args.record_size or args.header):
        parser.error("--record-size and --header are not for --format parquet")
    try:
        key = Key(args.root, rank=args.rank, stream=args.stream, algorithm=args.algorithm)
        with _dask_client(args.scheduler) as client:
            common = dict(key=key, start=args.start, memory=args.memory, num_shards=args.num_shards,
                          overwrite=args.overwrite, threads=args.threads, progress=args.progress, client=client)
            if fmt == "parquet":
                from .shuffle.parquet import shuffle_parquet

                n = shuffle_parquet(src, args.dst, rows_per_file=args.rows_per_file,
                                    row_group_size=args.row_group_size,
                                    compression=_codec(args.compression), **common)
            else:
                n = shuffle_file(src, args.dst, args.record_size, format=fmt, header=args.header, **common)
    except FileExistsError:
        print(f"ctrng shuffle-file: {args.dst} exists; pass --overwrite to replace it", file=sys.stderr)
        return 1
    except (OSError, ValueError, TypeError, ImportError) as e:
        print(f"ctrng shuffle-file: {e}", file=sys.stderr)
        return 1
    what = {"lines": "lines", "parquet": "rows"}.get(fmt, "records")
    print(f"shuffled {n} {what} of {' '.join(args.src)} into {args.dst}", file=sys.stderr)
    return 0


def _parquet_named(src):
    """Whether `src` names Parquet files: ends in .parquet, or is a directory holding some."""
    if os.path.isdir(src):
        return any(name.endswith(".parquet") for name in os.listdir(src))
    return src.endswith(".parquet")


def _codec(name):
    """--compression as pyarrow takes it: snappy by default, None for none."""
    return "snappy" if name is None else None if name.lower() == "none" else name


@contextlib.contextmanager
def _dask_client(address):
    """A dask.distributed Client of the scheduler at `address`, or None."""
    if address is None:
        yield None
        return
    from distributed import Client

    with Client(address) as client:
        yield client


# -- the parser ---------------------------------------------------------------
def _key_options(command, root_required):
    """--algorithm, --root, --rank and --stream: the key of a command."""
    command.add_argument("--algorithm", choices=sorted(ALGORITHMS), default=DEFAULT_ALGORITHM,
                         help=f"cipher (default {DEFAULT_ALGORITHM})")
    command.add_argument("--root", type=_integer, required=root_required, default=None if root_required else 0,
                         help="integer root seed, decimal or 0x hex" + ("" if root_required else " (default 0)"))
    command.add_argument("--rank", type=_integer, default=0, help="worker rank (default 0)")
    command.add_argument("--stream", type=_integer, default=0, help="stream of the worker (default 0)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ctrng",
        description="Reproducible, non-overlapping random streams for every worker of a parallel job "
                    "(Philox and Threefry). Not a cryptographic generator: use Python's `secrets`.")
    parser.add_argument("--version", action="version", version=f"ctrng {ctrng.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    raw = sub.add_parser(
        "raw", help="write a raw stream to stdout (for PractRand, TestU01, dieharder)",
        description="Write the raw stream of (algorithm, root, rank, stream) to stdout as "
                    "little-endian 32-bit words, from word --start on, endlessly or for --bytes N. "
                    "Example: ctrng raw | RNG_test stdin32",
        epilog="The command exits quietly (status 0) when the reader closes the pipe.")
    _key_options(raw, root_required=False)
    raw.add_argument("--bytes", type=_byte_count, default=None, metavar="N",
                     help="stop after N bytes; K, M, G, T suffixes are powers of 1024 (default: endless)")
    raw.add_argument("--start", type=_non_negative, default=0, metavar="WORD",
                     help="first 32-bit word of each stream (default 0)")
    raw.add_argument("--interleave-ranks", type=_positive, default=1, metavar="K",
                     help="weave the streams of ranks RANK .. RANK+K-1 word by word: word j of each "
                          "rank in turn, then word j+1 (default 1: no weaving)")
    raw.add_argument("--interleave-roots", type=_positive, default=1, metavar="K",
                     help="weave the streams of roots ROOT .. ROOT+K-1 the same way (default 1)")
    raw.add_argument("--rounds", type=_positive, default=None,
                     help="cipher rounds (default: the algorithm's; fewer make a weak generator, "
                          "for checking that a test battery can fail)")
    raw.add_argument("--threads", type=_positive, default=None,
                     help="threads generating the stream (default: all cores)")
    raw.add_argument("--chunk-words", type=_positive, default=RAW_CHUNK_WORDS, help=argparse.SUPPRESS)
    raw.set_defaults(func=cmd_raw, subparser=raw)

    demo = sub.add_parser(
        "demo", help="why `seed + rank` collides, what ctrng does instead, and its speed here",
        description="Shows the `root + rank` seed collision between two runs with NumPy, the "
                    "distinct ctrng streams for the same (root, rank) pairs, and throughput "
                    "against NumPy's PCG64 on this machine. Takes a few seconds; no GPU needed.")
    demo.add_argument("--n", type=_positive, default=10**7, help="elements per timing (default 10**7)")
    demo.add_argument("--repeat", type=_positive, default=3, help="timed calls, best kept (default 3)")
    demo.set_defaults(func=cmd_demo, subparser=demo)

    bench = sub.add_parser(
        "bench", help="speed ratios against NumPy's PCG64, per distribution",
        description="Times raw uint32, uniform and normal float32/float64 and integers(0, 1000) "
                    "on 1 thread and on all threads, against NumPy's PCG64, and prints a table "
                    "of ratios (NumPy time / ctrng time).")
    bench.add_argument("--n", type=_positive, default=10**7, help="elements per call (default 10**7)")
    bench.add_argument("--repeat", type=_positive, default=5, help="timed calls, best kept (default 5)")
    bench.add_argument("--algorithm", choices=sorted(ALGORITHMS), default=DEFAULT_ALGORITHM,
                       help=f"cipher (default {DEFAULT_ALGORITHM})")
    bench.add_argument("--threads", type=_positive, default=None,
                       help="threads for the 'all threads' column (default: all cores)")
    bench.set_defaults(func=cmd_bench, subparser=bench)

    shuf = sub.add_parser(
        "shuffle-file", help="shuffle lines, records, .npy rows or Parquet rows of files larger than memory",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write the items of SRC (one or more files, a directory or a quoted glob: one dataset, "
                    "its files in sorted name order) to DST in the order of ctrng.permutation(key, n): "
                    "item j of DST is item p[j] of SRC, exactly, within --memory. DST appears only when "
                    "complete.\n\n"
                    "formats (--format):\n"
                    "  records  fixed-size records of --record-size bytes (the default for other files)\n"
                    "  npy      rows of .npy files (axis 0; the default for .npy sources), header kept\n"
                    "  lines    text lines, never decoded: an empty line is a line, \\r\\n stays part of\n"
                    "           its line, a last line without a newline gets one; --header keeps\n"
                    "           a first line (CSV) out of the shuffle and at the top of every output\n"
                    "  parquet  rows of Parquet files of one schema (the default for .parquet sources;\n"
                    "           needs pip install \"ctrng[parquet]\"); DST is a directory of\n"
                    "           part-NNNNN.parquet files, --rows-per-file, --row-group-size,\n"
                    "           --compression",
        epilog="With --num-shards K, DST is a directory of K files, file k holding the k-th contiguous slice "
               "of the shuffled items (rank k of K reads its own). With --scheduler ADDRESS the work runs as "
               "tasks on that Dask cluster, whose workers must see SRC and DST at the same paths; the files "
               "are the same, byte for byte. Ctrl-C, SIGTERM or an error deletes the work files (hidden "
               "beside DST); a run that was killed leaves them, and the same command again resumes, to the "
               "same result. Examples:\n"
               "  ctrng shuffle-file --format lines --root 1 corpus.jsonl shuffled.jsonl --memory 4G\n"
               "  ctrng shuffle-file --format lines --root 1 'shards/*.jsonl' out/ --num-shards 8\n"
               "  ctrng shuffle-file --root 1 data/ shuffled/ --rows-per-file 1000000   # Parquet")
    shuf.add_argument("src", nargs="+", help="source files, a directory or a quoted glob pattern")
    shuf.add_argument("dst", help="output file, or directory (--num-shards, parquet)")
    shuf.add_argument("--format", choices=["records", "npy", "lines", "parquet"], default=None,
                      help="what an item is (default: from the file names, see above)")
    shuf.add_argument("--record-size", type=_byte_count, default=None, metavar="BYTES",
                      help="bytes per record (--format records)")
    shuf.add_argument("--header", action="store_true", help="lines: the first line of each file is a header")
    shuf.add_argument("--num-shards", type=_positive, default=None, metavar="K",
                      help="write K files, the k-th holding the k-th slice of the shuffled items")
    shuf.add_argument("--rows-per-file", type=_positive, default=None, metavar="N",
                      help="parquet: rows per output file (default: as many files as inputs)")
    shuf.add_argument("--row-group-size", type=_positive, default=None, metavar="N",
                      help="parquet: rows per row group of the output")
    shuf.add_argument("--compression", default=None,
                      help="parquet: the output's codec, e.g. snappy (default), zstd, none")
    _key_options(shuf, root_required=True)
    shuf.add_argument("--start", type=_non_negative, default=0, metavar="WORD",
                      help="first 32-bit word of the stream the permutation reads (default 0)")
    shuf.add_argument("--memory", type=_byte_count, default=None,
                      help="memory budget, e.g. 512M or 4G (default: a quarter of RAM)")
    shuf.add_argument("--scheduler", default=None, metavar="ADDRESS",
                      help="run on the Dask cluster of this scheduler, e.g. tcp://10.0.0.1:8786")
    shuf.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    shuf.add_argument("--threads", type=_positive, default=None, help="threads (default: all cores)")
    shuf.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="progress bar on stderr (default: when stderr is a terminal)")
    shuf.set_defaults(func=cmd_shuffle_file, subparser=shuf)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args, args.subparser)
    except BrokenPipeError:
        # The reader closed the pipe (`ctrng raw | head -c 100`): that is how
        # an endless stream is meant to end.  Point stdout at /dev/null so the
        # interpreter's final flush does not complain, and exit 0.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
