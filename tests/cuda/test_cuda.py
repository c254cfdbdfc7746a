"""ctrng.cuda bulk generation under Numba's CUDA simulator, against the CPU
functions (CI has no GPU; CTRNG_CUDA_TESTS=gpu runs the same script on one,
see kernels.py)."""

import textwrap

from kernels import run_kernel_script

ALGS = ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"]

SCRIPT = textwrap.dedent("""
    import json
    import warnings
    import numpy as np
    from numba import cuda
    import ctrng
    import ctrng.cuda as cc

    cc.THREADS_PER_BLOCK, cc.MAX_GRID = 4, 3   # few threads: every thread loops (grid stride)
    checks = {}
    for alg in ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"]:
        k = ctrng.Key(12345, rank=3, stream=8, algorithm=alg)
        ok = []
        for start, n in [(0, 41), (5, 37), (4 * 2**32 - 7, 29)]:
            pairs = [
                (cc.random_raw(k, n, start), ctrng.random_raw(k, n, start)),
                (cc.random_raw(k, n, start, np.uint64), ctrng.random_raw(k, n, start, np.uint64)),
                (cc.random(k, n, start), ctrng.random(k, n, start, np.float32)),
                (cc.random(k, n, start, np.float64), ctrng.random(k, n, start)),
                (cc.standard_normal(k, n, start), ctrng.standard_normal(k, n, start, np.float32)),
                (cc.standard_normal(k, n, start, np.float64), ctrng.standard_normal(k, n, start)),
                (cc.integers(k, -3, 1000, n, start), ctrng.integers(k, -3, 1000, n, start)),
                (cc.integers(k, 0, 2**40, n, start, np.uint64), ctrng.integers(k, 0, 2**40, n, start, np.uint64)),
                (cc.integers(k, -7, 7, n, start, np.int32), ctrng.integers(k, -7, 7, n, start, np.int32)),
                (cc.bernoulli(k, 0.3, n, start), ctrng.bernoulli(k, 0.3, n, start, dtype=np.uint8)),
                (cc.bernoulli(k, 1.0, n, start), ctrng.bernoulli(k, 1.0, n, start, dtype=np.uint8)),
                (cc.bernoulli(k, 0.6, n, start, np.bool_), ctrng.bernoulli(k, 0.6, n, start, dtype=np.bool_)),
                (cc.integers(k, 0, 2**20, n, start, np.uint32), ctrng.integers(k, 0, 2**20, n, start, np.uint32)),
                (cc.integers(k, -2**31, 2**31, n, start), ctrng.integers(k, -2**31, 2**31, n, start)),
                (cc.uniform(k, -2.0, 3.0, n, start), ctrng.uniform(k, -2.0, 3.0, n, start, np.float32)),
                (cc.normal(k, 1.0, 0.5, n, start, np.float64), ctrng.normal(k, 1.0, 0.5, n, start)),
            ]
            ok += [bool(np.array_equal(d.copy_to_host(), h)) for d, h in pairs]
        # integers(0, 40000): a 32-bit draw x is rejected when x * 40000 mod 2**32
        # < 2**32 mod 40000 = 27296 (about 13 in 2**21), then redrawn from the
        # reserved blocks: a few elements on either side of the first one.
        x = ctrng.random_raw(k, 2**21).astype(np.uint64)
        i = int(np.flatnonzero((x * np.uint64(40000)) & np.uint64(0xFFFFFFFF) < 27296)[0])
        ok.append(bool(np.array_equal(cc.integers(k, 0, 40000, 9, i - 4).copy_to_host(),
                                      ctrng.integers(k, 0, 40000, 9, i - 4))))
        checks[alg] = ok
    out = cuda.device_array((3, 4), np.float32)
    returned = cc.random(ctrng.Key(1), out=out)
    checks["out"] = [returned is out,
                     bool(np.array_equal(out.copy_to_host().ravel(), ctrng.random(ctrng.Key(1), 12, dtype=np.float32)))]
    # out= one element past a 16-byte boundary: whole blocks are then written
    # by scalar stores (vector stores would fault on a GPU)
    whole = cuda.device_array(41, np.float32)
    view = whole[1:]
    checks["alignment"] = [cc._aligned(whole, 0), not cc._aligned(view, 0), cc._aligned(view, 1),
                           not cc._aligned(whole, 1),
                           bool(np.array_equal(cc.random(ctrng.Key(2), out=view).copy_to_host(),
                                               ctrng.random(ctrng.Key(2), 40, dtype=np.float32))),
                           bool(np.array_equal(cc.random(ctrng.Key(2), start=1, out=view).copy_to_host(),
                                               ctrng.random(ctrng.Key(2), 40, 1, dtype=np.float32)))]
    errors = []
    for call in [lambda: cc.random(ctrng.Key(1), out=np.zeros(4, np.float32)),
                 lambda: cc.random(ctrng.Key(1), out=cuda.device_array(4, np.float64)),
                 lambda: cc.random(ctrng.Key(1), 5, out=cuda.device_array(4, np.float32)),
                 lambda: cc.random_raw(7, 4),
                 lambda: cc.integers(ctrng.Key(1), 5, 5, 4),
                 lambda: cc.bernoulli(ctrng.Key(1), 1.5, 4),
                 lambda: cc.random(ctrng.Key(1), 4, start=2**66)]:
        try:
            call()
            errors.append("no error")
        except (TypeError, ValueError) as exc:
            errors.append(type(exc).__name__)
    checks["errors"] = errors
    perm = []
    for n in (1, 2, 7, 1000, 2**21 + 3):
        p = ctrng.IndexPermutation(ctrng.Key(9, stream=n), n)
        m = min(n, 300)
        head = cc.index_permutation(ctrng.Key(9, stream=n), n, count=m).copy_to_host()
        tail = cc.index_permutation(ctrng.Key(9, stream=n), n, start=n - m).copy_to_host()
        perm.append(bool(np.array_equal(head, p[:m])))
        perm.append(bool(np.array_equal(tail, p[n - m:])))
    key = ctrng.Key(4)
    for shape in ((50, 3), (37, 9), (5, 2, 4)):  # rows narrower and wider than the 4 threads
        rows = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
        order = ctrng.IndexPermutation(key, shape[0])[:]
        perm.append(bool(np.array_equal(cc.index_permuted(key, cuda.to_device(rows)).copy_to_host(), rows[order])))
    target = cuda.device_array(50, np.int64)
    returned = cc.index_permuted(key, cuda.to_device(np.arange(50)), out=target)
    order = ctrng.IndexPermutation(key, 50)[:]
    perm.append(returned is target and bool(np.array_equal(target.copy_to_host(), order)))
    checks["permutations"] = perm
    with warnings.catch_warnings(record=True) as caught:  # the deprecated name: same rows, and a warning
        warnings.simplefilter("always")
        old = cc.permute(key, cuda.to_device(np.arange(50))).copy_to_host()
    checks["permute alias"] = [bool(np.array_equal(old, order)),
                               [(w.category.__name__, "ctrng.cuda.index_permuted" in str(w.message)) for w in caught]]
    print(json.dumps(checks))
""")


def test_gpu_fills_match_the_cpu_under_the_simulator():
    checks = run_kernel_script(SCRIPT)
    for alg in ALGS:
        assert checks[alg] == [True] * (3 * 16 + 1), alg  # 16 fills at 3 starts, then the retries
    assert checks["out"] == [True, True]
    assert checks["alignment"] == [True] * 6
    assert checks["errors"] == ["TypeError", "TypeError", "ValueError", "TypeError", "ValueError", "ValueError",
                                "ValueError"]
    assert checks["permutations"] == [True] * 14
    assert checks["permute alias"] == [True, [["DeprecationWarning", True]]]


def test_permute_is_a_deprecated_name_of_index_permuted():
    """ctrng.cuda.permute gives the rows in IndexPermutation order, not
    ctrng.permutation's: it warns, naming the function to call instead."""
    import numpy as np
    import pytest

    import ctrng
    import ctrng.cuda as cc

    with pytest.warns(DeprecationWarning, match=r"ctrng\.cuda\.index_permuted"), pytest.raises(TypeError):
        cc.permute(ctrng.Key(1), np.arange(4))  # a host array: refused after the warning


def test_store_group_writes_each_element_once_in_every_form():
    """The vector-store intrinsic of the block kernels, compiled for the CPU:
    the same LLVM IR that the GPU gets, one 16-byte store per 16 bytes where
    the group is a whole number of them and `aligned` holds, element stores
    otherwise."""
    import numba
    import numpy as np

    from ctrng.cuda import store_group

    @numba.njit
    def put(out, i, values, aligned):
        store_group(out, i, values, aligned)

    cases = [(np.float32, (1.5, -2.25, 3e38, 7.0)), (np.float64, (0.1, -0.2)), (np.int64, (np.uint64(2**64 - 1), 5)),
             (np.uint32, (np.uint64(2**32 - 1), 0, 1, np.uint64(2**31))), (np.int32, (-7, 8)), (np.uint8, (1, 0)),
             (np.int64, (-1, 2, np.uint64(2**63), 4)), (np.float32, (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, -8.0))]
    for dtype, values in cases:
        for aligned in (True, False):
            out = np.zeros(12, dtype)  # NumPy's data is 16-byte aligned
            assert out.ctypes.data % 16 == 0
            put(out, 4, values, aligned)
            want = np.zeros(12, dtype)
            want[4:4 + len(values)] = [np.asarray(v).astype(dtype) for v in values]  # wrapping, as out[i] = v
            assert np.array_equal(out, want), (dtype, aligned)
    out = np.zeros(12, np.float32)
    put(out, 1, (1.0, 2.0, 3.0, 4.0), False)  # off a 16-byte boundary: element stores
    assert out.tolist() == [0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0]
