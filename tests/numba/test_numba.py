"""ctrng.numba device functions against the C core, compiled with @njit on
the CPU and run under Numba's CUDA simulator (the GPU kernels' code path on a
machine without a GPU)."""

import textwrap

import numba
import numpy as np
import pytest
import reference as ref
from kernels import run_kernel_script

import ctrng
from ctrng.numba import (
    bernoulli,
    bernoulli_threshold,
    bounded_offset,
    index_permutation,
    index_permutation_inverse,
    index_permutation_params,
    integer_span,
    philox4x32,
    philox4x64,
    random_raw32,
    random_raw64,
    standard_normal_f32,
    standard_normal_f64,
    stream_words,
    threefry4x32,
    threefry4x64,
    uniform_f32,
    uniform_f64,
)

ALGS = ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"]
SPANS = [0, 2, 999, 39999, 0xFFFF, 0x10000, 2**31, 2**32 - 1, 2**32, 2**40, 2**63, 2**64 - 1]


@numba.njit
def _fill_njit(words, start, n, raw32, raw64, f64, f32):
    for j in range(n):
        i = start + j
        raw32[j] = random_raw32(words, i)
        raw64[j] = random_raw64(words, i)
        f64[j] = uniform_f64(words, i)
        f32[j] = uniform_f32(words, i)


@numba.njit
def _normals_njit(words, start, n, f64, f32):
    for j in range(n):
        f64[j] = standard_normal_f64(words, start + j)
        f32[j] = standard_normal_f32(words, start + j)


@numba.njit
def _ints_njit(words, span, start, n, out):
    for j in range(n):
        out[j] = bounded_offset(words, span, start + j)


@numba.njit
def _blocks_njit(c, k, rounds):
    u = np.uint64
    return (philox4x32(u(c[0]), u(c[1]), u(c[2]), u(c[3]), u(k[0]), u(k[1]), rounds),
            philox4x64(u(c[0]), u(c[1]), u(c[2]), u(c[3]), u(k[0]), u(k[1]), rounds),
            threefry4x32(u(c[0]), u(c[1]), u(c[2]), u(c[3]), u(k[0]), u(k[1]), u(k[2]), u(k[3]), rounds),
            threefry4x64(u(c[0]), u(c[1]), u(c[2]), u(c[3]), u(k[0]), u(k[1]), u(k[2]), u(k[3]), rounds))


def test_cipher_device_functions_pass_the_known_answers():
    checked = 0
    for name, rounds, ctr, key, expected in ref.kat_lines():
        keys = list(key) + [0] * (4 - len(key))
        got = _blocks_njit(np.array(ctr, np.uint64), np.array(keys, np.uint64), rounds)[ref.CODES[name]]
        assert [int(w) for w in got] == list(expected), (name, rounds)
        checked += 1
    assert checked == 30


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("start", [0, 3, 4 * 2**32 - 5, 2**60 + 1])
def test_raw_and_uniform_match_the_bulk_functions(algorithm, start):
    key = ctrng.Key(2**31 + 7, rank=9, stream=2**32 - 1, algorithm=algorithm)
    n = 257
    out = (np.empty(n, np.uint32), np.empty(n, np.uint64), np.empty(n), np.empty(n, np.float32))
    _fill_njit(stream_words(key), start, n, *out)
    assert np.array_equal(out[0], ctrng.random_raw(key, n, start))
    assert np.array_equal(out[1], ctrng.random_raw(key, n, start, np.uint64))
    assert np.array_equal(out[2], ctrng.random(key, n, start))
    assert np.array_equal(out[3], ctrng.random(key, n, start, np.float32))


@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("start", [0, 1, 2**40 + 3])
def test_normals_are_bit_identical_to_the_c_core(algorithm, start):
    """The device Box-Muller repeats the C core's IEEE operations one by one:
    identical bits, not just close values (100001 values per case)."""
    key = ctrng.Key(99, rank=2, stream=5, algorithm=algorithm)
    n = 100_001
    f64, f32 = np.empty(n), np.empty(n, np.float32)
    _normals_njit(stream_words(key), start, n, f64, f32)
    assert np.array_equal(f64.view(np.uint64), ctrng.standard_normal(key, n, start).view(np.uint64))
    assert np.array_equal(f32.view(np.uint32), ctrng.standard_normal(key, n, start, np.float32).view(np.uint32))


@pytest.mark.parametrize("algorithm", ALGS)
def test_bounded_offsets_match_integers(algorithm):
    key = ctrng.Key(77, rank=1, algorithm=algorithm)
    words = stream_words(key)
    n = 500
    for span in SPANS:
        got = np.empty(n, np.uint64)
        _ints_njit(words, np.uint64(span), 11, n, got)
        assert np.array_equal(got, ctrng.integers(key, 0, span + 1, n, 11, dtype=np.uint64)), span
    low, high = -5, 1000
    got = np.empty(n, np.uint64)
    _ints_njit(words, integer_span(low, high), 0, n, got)
    assert np.array_equal(low + got.astype(np.int64), ctrng.integers(key, low, high, n))


def test_bounded_offsets_follow_the_retries():
    """integers(0, 40000): 2**32 mod 40000 = 27296, so about 13 of 2**21
    draws are rejected and redrawn from the reserved blocks."""
    key = ctrng.Key(5)
    n = 1 << 21
    got = np.empty(n, np.uint64)
    _ints_njit(stream_words(key), np.uint64(39999), 0, n, got)
    assert np.array_equal(got, ctrng.integers(key, 0, 40000, n, dtype=np.uint64))
    x = ctrng.random_raw(key, n).astype(np.uint64)
    assert ((x * np.uint64(40000)) & np.uint64(0xFFFFFFFF) < 27296).sum() > 0  # the retry path ran


@numba.njit
def _iperm_njit(params, positions):
    values = np.empty_like(positions)
    back = np.empty_like(positions)
    for j in range(positions.size):
        values[j] = index_permutation(params, positions[j])
        back[j] = index_permutation_inverse(params, values[j])
    return values, back


@pytest.mark.parametrize("n", [1, 2, 5, 1000, 2**29, 2**32 - 1, 2**32, 2**32 + 1, 2**40 + 7, 2**63 - 1])
def test_index_permutation_matches_the_c_core(n):
    """Both word sizes of the device function (32-bit up to n = 2**32,
    64-bit beyond), at the head and tail of the range."""
    perm = ctrng.IndexPermutation(ctrng.Key(31, stream=5), n)
    positions = np.unique(np.r_[np.arange(min(n, 200)), n - 1 - np.arange(min(n, 200))]).astype(np.uint64)
    values, back = _iperm_njit(index_permutation_params(perm), positions)
    assert np.array_equal(values, perm[positions.astype(np.int64)].astype(np.uint64))
    assert np.array_equal(back, positions)


def test_bad_arguments():
    with pytest.raises(TypeError, match="key"):
        stream_words(7)
    with pytest.raises(ValueError, match="low < high"):
        integer_span(3, 3)
    with pytest.raises(ValueError, match="high"):
        integer_span(0, 2**64 + 1)


SIMULATOR_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from numba import cuda
    import ctrng
    from ctrng.numba import (bounded_offset, random_raw32, random_raw64, standard_normal_f32,
                             standard_normal_f64, stream_words, uniform_f32, uniform_f64)

    @cuda.jit
    def kernel(words, start, span, raw32, raw64, f64, f32, ints, n64, n32):
        j = cuda.grid(1)
        if j < raw32.size:
            i = start + j
            raw32[j] = random_raw32(words, i)
            raw64[j] = random_raw64(words, i)
            f64[j] = uniform_f64(words, i)
            f32[j] = uniform_f32(words, i)
            ints[j] = bounded_offset(words, span, i)
            n64[j] = standard_normal_f64(words, i)
            n32[j] = standard_normal_f32(words, i)

    results = {}
    n, start, span = 24, 4 * 2**32 - 7, 999
    for alg in ["philox4x32", "philox4x64", "threefry4x32", "threefry4x64"]:
        key = ctrng.Key(12345, rank=3, stream=8, algorithm=alg)
        dtypes = (np.uint32, np.uint64, np.float64, np.float32, np.uint64, np.float64, np.float32)
        outs = [cuda.device_array(n, dt) for dt in dtypes]
        kernel[3, 8](cuda.to_device(stream_words(key)), np.uint64(start), np.uint64(span), *outs)
        raw32, raw64, f64, f32, ints, n64, n32 = [o.copy_to_host() for o in outs]
        results[alg] = [
            bool(np.array_equal(raw32, ctrng.random_raw(key, n, start))),
            bool(np.array_equal(raw64, ctrng.random_raw(key, n, start, np.uint64))),
            bool(np.array_equal(f64, ctrng.random(key, n, start))),
            bool(np.array_equal(f32, ctrng.random(key, n, start, np.float32))),
            bool(np.array_equal(ints, ctrng.integers(key, 0, span + 1, n, start, dtype=np.uint64))),
            bool(np.array_equal(n64, ctrng.standard_normal(key, n, start))),
            bool(np.array_equal(n32, ctrng.standard_normal(key, n, start, np.float32))),
        ]
    print(json.dumps(results))
""")


def test_cuda_kernels_match_the_cpu_under_the_simulator():
    results = run_kernel_script(SIMULATOR_SCRIPT)
    assert results == {alg: [True] * 7 for alg in ALGS}


@numba.njit
def _dropout_njit(words, threshold, x, start):
    out = np.empty_like(x)
    for j in range(x.size):
        out[j] = x[j] if bernoulli(words, threshold, start + j) else 0.0
    return out


def test_dropout_mask_in_a_kernel_matches_bernoulli():
    key = ctrng.Key(8, rank=1, stream=3)
    x = np.arange(1.0, 1001.0)
    got = _dropout_njit(stream_words(key), bernoulli_threshold(0.9), x, 17)
    assert np.array_equal(got, np.where(ctrng.bernoulli(key, 0.9, 1000, 17), x, 0.0))
    assert bernoulli_threshold(0.0) == 0 and bernoulli_threshold(1.0) == 2**64 - 1
