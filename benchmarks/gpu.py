"""GPU benchmark: ctrng.cuda fills against CuPy's cuRAND-backed generator
(and torch.rand / torch.randn where PyTorch has CUDA), in one run.

    python benchmarks/gpu.py                      # 2**28 and 2**30 elements
    python benchmarks/gpu.py --log2 20 22         # other sizes

It first checks bits against the CPU (the first and last 2**16 elements of
each fill; a PyTorch CUDA tensor filled through ctrng.torch; ctrng.init's
kaiming_uniform_ and trunc_normal_ on a CUDA array, in ulps), then times,
for every size, on the same GPU:
* a plain fill of the output (the card's memory-write bandwidth here),
* ctrng uniform float32, normal float32 and raw uint32 fills,
* cupy.random (cuRAND XORWOW through CuPy's default generator) and torch,
each call on its own (the best of --repeat), then the plain fill and the
uniform fill made --repeat times back to back (the host's launch work
hidden behind the previous call).
Also integers(0, 1000) into int64 (against cupy.random.randint and torch's
random_) and Bernoulli draws into uint8.
The host's own time per call (200 x --repeat calls on a tiny array, so the
GPU work is negligible):
ctrng.cuda.random, the same kernel launched with its arguments built once,
the plain fill's launch and cupy.random.random; the difference is what a
single timed call of ctrng leaves the GPU idle for.
Then permutations of 2**29 64-bit elements (--perm-log2): the index
permutation alone against cupy.random.permutation(n), a permuted copy of an
int64 array against cupy.random.permutation of that array, with a bit check
against the CPU first; the index
permutation at the worst size (2**28 + 1, where half the values walk
again), and a permuted copy of the rows of a (2**20, 128) float32 array
against cupy.take by cupy.random.permutation.
Prints GB/s written, elements per second and ratios; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from numba import cuda

import ctrng
import ctrng.cuda as cc
import ctrng.init

CHECK = 1 << 16


def gpu_time(fn, repeat, back_to_back=False):
    """Best time in seconds of fn() over `repeat` runs, by CUDA events; with
    back_to_back, the mean of `repeat` calls made in a row between one pair
    of events, where the host's launch work overlaps the previous call's."""
    fn()
    cuda.synchronize()
    best = float("inf")
    for _ in range(1 if back_to_back else repeat):
        start, stop = cuda.event(), cuda.event()
        start.record()
        for _ in range(repeat if back_to_back else 1):
            fn()
        stop.record()
        stop.synchronize()
        best = min(best, start.elapsed_time(stop) / 1e3 / (repeat if back_to_back else 1))
    return max(best, 1e-9)  # the CUDA simulator's events report 0


def host_time(fn, calls):
    """Mean host seconds per call of fn(), over `calls` calls in a row."""
    fn()
    cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    cuda.synchronize()
    return (time.perf_counter() - t0) / calls


def host_overheads(key, cupy, calls):
    """Host microseconds per call on a 256-element array, the mean of
    `calls` calls: where the time between a call and its kernel's start
    goes."""
    tiny = cuda.device_array(256, np.float32)
    words = cc._words(key)
    kind = ctrng._core.kinds.UNIFORM_F32
    kernel = cc._fill_kernel(kind, cc.element_bits(kind), int(words[0]), int(words[1]), False, np.dtype(np.float32),
                              cc.THREADS_PER_BLOCK)
    rows = {"ctrng.cuda.random": lambda: cc.random(key, out=tiny),
            "its kernel, arguments built once": lambda: kernel[1, cc.THREADS_PER_BLOCK](
                words, cc.U64(0), 0, tiny.size, (0.0, 1.0), tiny, True),
            "plain fill kernel (one argument)": lambda: cc._launch(_FILL, tiny.size, tiny)}
    if cupy is not None:
        rows["cupy.random.random"] = lambda: cupy.random.random(tiny.size, dtype=cupy.float32)
    print("\nhost time per call, 256 elements:")
    for name, fn in rows.items():
        print(f"  {name:<36} {host_time(fn, calls) * 1e6:8.1f} us")


def check_bits(key, n):
    """Head and tail of each GPU fill against the CPU; returns failures."""
    bad = []
    cases = [("uniform f32", lambda o: cc.random(key, out=o), np.float32,
              lambda s, m: ctrng.random(key, m, s, np.float32)),
             ("uniform(-2, 3) f32", lambda o: cc.uniform(key, -2.0, 3.0, out=o), np.float32,
              lambda s, m: ctrng.uniform(key, -2.0, 3.0, m, s, np.float32)),
             ("raw u32", lambda o: cc.random_raw(key, out=o), np.uint32,
              lambda s, m: ctrng.random_raw(key, m, s)),
             ("raw u64", lambda o: cc.random_raw(key, dtype=np.uint64, out=o), np.uint64,
              lambda s, m: ctrng.random_raw(key, m, s, np.uint64)),
             ("normal f32", lambda o: cc.standard_normal(key, out=o), np.float32,
              lambda s, m: ctrng.standard_normal(key, m, s, np.float32)),
             ("integers(0, 1000) i64", lambda o: cc.integers(key, 0, 1000, out=o), np.int64,
              lambda s, m: ctrng.integers(key, 0, 1000, m, s)),
             ("bernoulli(0.3) u8", lambda o: cc.bernoulli(key, 0.3, out=o), np.uint8,
              lambda s, m: ctrng.bernoulli(key, 0.3, m, s, dtype=np.uint8))]
    for name, fill, dtype, cpu in cases:
        out = cuda.device_array(n, dtype)
        fill(out)
        for s in (0, max(0, n - CHECK)):
            got = out[s:s + CHECK].copy_to_host()
            want = cpu(s, got.size)
            if name == "normal f32":
                # the GPU compiler may fuse multiply-adds: report the distance
                d = ulps(got, want)
                print(f"  {name}: {np.mean(d == 0):.4%} identical to the CPU, max {d.max()} ulp")
            elif not np.array_equal(got, want):
                bad.append(f"{name} at {s}")
    return bad


def ulps(got, want):
    """Distance in units in the last place between two float32 arrays."""
    return np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))


def check_tensors_and_init(key, torch):
    """PyTorch CUDA tensors filled by ctrng.torch, and ctrng.init on a CUDA
    array, against the CPU; returns failures (bits that must be identical)."""
    bad = []
    if torch is not None:
        from ctrng import torch as ctrng_torch

        t = torch.empty(CHECK, dtype=torch.float32, device="cuda")
        ctrng_torch.random_(t, key, start=5)
        same = np.array_equal(t.cpu().numpy(), ctrng.random(key, CHECK, 5, np.float32))
        print(f"  torch CUDA tensor, ctrng.torch.random_: {'identical to' if same else 'DIFFERS from'} the CPU")
        bad += [] if same else ["ctrng.torch.random_ on a CUDA tensor"]
    for name, fn in [("kaiming_uniform_", lambda w: ctrng.init.kaiming_uniform_(w, key, a=5 ** 0.5)),
                     ("trunc_normal_", lambda w: ctrng.init.trunc_normal_(w, key, std=0.02, a=-0.04, b=0.04))]:
        host = np.empty((256, 256), np.float32)
        fn(host)
        dev = cuda.device_array((256, 256), np.float32)
        fn(dev)
        d = ulps(dev.copy_to_host(), host)
        print(f"  init.{name} on the GPU: {np.mean(d == 0):.4%} identical to the CPU, max {d.max()} ulp")
    return bad


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2", type=int, nargs="+", default=[28, 30], help="log2 of the sizes")
    parser.add_argument("--perm-log2", type=int, default=29, help="log2 of the permutation size")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    if not cuda.is_available():
        print("no CUDA GPU available", file=sys.stderr)
        return 1
    try:
        import cupy
    except ImportError:
        cupy = None
    try:
        import torch
        torch = torch if torch.cuda.is_available() else None
    except ImportError:
        torch = None
    name = cuda.get_current_device().name if hasattr(cuda, "get_current_device") else "CUDA simulator"
    print(f"GPU: {name.decode() if isinstance(name, bytes) else name}; cupy {cupy.__version__ if cupy else '-'}; "
          f"torch {torch.__version__ if torch else '-'}")
    key = ctrng.Key(20241127)
    failures = check_bits(key, 1 << min(args.log2)) + check_tensors_and_init(key, torch)
    print("bits against the CPU:", "identical" if not failures else f"DIFFER: {failures}")
    host_overheads(key, cupy, 200 * args.repeat)
    for lg in args.log2:
        n = 1 << lg
        f32 = cuda.device_array(n, np.float32)
        u32 = cuda.device_array(n, np.uint32)
        rows = {
            "plain fill (write bandwidth)": gpu_time(lambda: cc._launch(_FILL, n, f32), args.repeat),
            "ctrng uniform f32": gpu_time(lambda: cc.random(key, out=f32), args.repeat),
            "ctrng normal f32": gpu_time(lambda: cc.standard_normal(key, out=f32), args.repeat),
            "ctrng raw u32": gpu_time(lambda: cc.random_raw(key, out=u32), args.repeat),
        }
        if cupy is not None:
            rows["cupy random f32"] = gpu_time(lambda: cupy.random.random(n, dtype=cupy.float32), args.repeat)
            rows["cupy normal f32"] = gpu_time(lambda: cupy.random.standard_normal(n, dtype=cupy.float32),
                                               args.repeat)
        if torch is not None:
            t32 = torch.empty(n, dtype=torch.float32, device="cuda")
            rows["torch rand_ f32"] = gpu_time(lambda: t32.uniform_(), args.repeat)
            rows["torch randn f32"] = gpu_time(lambda: t32.normal_(), args.repeat)
        print(f"\nn = 2**{lg} ({n * 4 / 2**30:.2f} GiB written per call)")
        for name, t in rows.items():
            print(f"  {name:<32} {t * 1e3:8.3f} ms  {n * 4 / t / 1e9:8.1f} GB/s")
        bw = rows["plain fill (write bandwidth)"]
        print(f"  ctrng uniform f32 at {bw / rows['ctrng uniform f32']:.0%} of the plain fill's bandwidth")
        bw_b2b = gpu_time(lambda: cc._launch(_FILL, n, f32), args.repeat, back_to_back=True)
        uni_b2b = gpu_time(lambda: cc.random(key, out=f32), args.repeat, back_to_back=True)
        print(f"  {args.repeat} calls back to back: plain fill {bw_b2b * 1e3:.3f} ms, ctrng uniform f32 "
              f"{uni_b2b * 1e3:.3f} ms a call ({bw_b2b / uni_b2b:.0%} of the plain fill's bandwidth)")
        for ours, theirs in [("ctrng uniform f32", "cupy random f32"), ("ctrng normal f32", "cupy normal f32"),
                             ("ctrng uniform f32", "torch rand_ f32"), ("ctrng normal f32", "torch randn f32")]:
            if theirs in rows:
                print(f"  {ours} / {theirs}: {rows[theirs] / rows[ours]:.2f}x")
        integers_and_bernoulli(key, n, args.repeat, cupy, torch)
    permutations(key, 1 << args.perm_log2, args.repeat, cupy)
    return 0


def integers_and_bernoulli(key, n, repeat, cupy, torch):
    """integers(0, 1000) into int64 against CuPy's and torch's, and
    Bernoulli(0.3) draws into uint8, as GB/s written."""
    i64 = cuda.device_array(n, np.int64)
    u8 = cuda.device_array(n, np.uint8)
    rows = {"ctrng integers(0, 1000) i64": (gpu_time(lambda: cc.integers(key, 0, 1000, out=i64), repeat), 8),
            "ctrng bernoulli(0.3) u8": (gpu_time(lambda: cc.bernoulli(key, 0.3, out=u8), repeat), 1)}
    if cupy is not None:
        rows["cupy randint(0, 1000) i64"] = (
            gpu_time(lambda: cupy.random.randint(0, 1000, n, dtype=cupy.int64), repeat), 8)
    if torch is not None:
        t64 = torch.empty(n, dtype=torch.int64, device="cuda")
        rows["torch random_(0, 1000) i64"] = (gpu_time(lambda: t64.random_(0, 1000), repeat), 8)
    for name, (t, size) in rows.items():
        print(f"  {name:<32} {t * 1e3:8.3f} ms  {n * size / t / 1e9:8.1f} GB/s")
    ours = rows["ctrng integers(0, 1000) i64"][0]
    for theirs in ("cupy randint(0, 1000) i64", "torch random_(0, 1000) i64"):
        if theirs in rows:
            print(f"  ctrng integers / {theirs}: {rows[theirs][0] / ours:.2f}x")


def permutations(key, n, repeat, cupy):
    """ctrng's GPU permutations against cupy.random.permutation."""
    m = min(n, CHECK)
    head = cc.index_permutation(key, n, count=m).copy_to_host()
    same = np.array_equal(head, ctrng.IndexPermutation(key, n)[:m])
    print(f"\npermutations, n = {n:,}: first {m} indices {'identical to' if same else 'DIFFER from'} the CPU")
    idx = cuda.device_array(n, np.int64)
    src = cuda.to_device(np.arange(n, dtype=np.int64))
    dst = cuda.device_array(n, np.int64)
    rows = {"ctrng index_permutation": gpu_time(lambda: cc.index_permutation(key, n, out=idx), repeat),
            "ctrng permute int64": gpu_time(lambda: cc.index_permuted(key, src, out=dst), repeat)}
    if cupy is not None:
        csrc = cupy.asarray(src)
        rows["cupy.random.permutation"] = gpu_time(lambda: cupy.random.permutation(n), repeat)
        rows["cupy.random.permutation(array)"] = gpu_time(lambda: cupy.random.permutation(csrc), repeat)
    for name, t in rows.items():
        print(f"  {name:<32} {t * 1e3:8.3f} ms  {n / t / 1e9:8.2f} G elements/s")
    if cupy is not None:
        for ours, theirs in (("ctrng index_permutation", "cupy.random.permutation"),
                             ("ctrng permute int64", "cupy.random.permutation(array)")):
            print(f"  {ours} / {theirs}: {rows[theirs] / rows[ours]:.2f}x")
    odd = n // 2 + 1  # the worst case: half the values walk again
    odd_idx = cuda.device_array(odd, np.int64)
    t = gpu_time(lambda: cc.index_permutation(key, odd, out=odd_idx), repeat)
    print(f"  ctrng index_permutation, n = {odd:,}: {t * 1e3:.3f} ms, {odd / t / 1e9:.2f} G elements/s")
    r = max(1, n // 512)  # rows of 128 float32: 1/4 of n's int64 bytes
    host = np.arange(r * 128, dtype=np.float32).reshape(r, 128)
    x = cuda.to_device(host)
    y = cuda.device_array((r, 128), np.float32)
    ok = np.array_equal(cc.index_permuted(key, x, out=y)[:64].copy_to_host(), host[ctrng.IndexPermutation(key, r)[:64]])
    t = gpu_time(lambda: cc.index_permuted(key, x, out=y), repeat)
    line = f"  ctrng permute rows ({r:,}, 128) f32 ({'identical to' if ok else 'DIFFERS from'} the CPU): " \
           f"{t * 1e3:.3f} ms, {2 * x.nbytes / t / 1e9:.1f} GB/s read + written"
    if cupy is not None:
        cx = cupy.asarray(x)
        theirs = gpu_time(lambda: cupy.take(cx, cupy.random.permutation(r), axis=0), repeat)
        line += f"; cupy.take(x, cupy.random.permutation) {theirs * 1e3:.3f} ms ({theirs / t:.2f}x)"
    print(line)


@cuda.jit
def _FILL(out):
    for j in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[j] = 1.0


if __name__ == "__main__":
    sys.exit(main())
