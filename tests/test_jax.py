"""ctrng.jax: the JAX PRNG implementation and ctrng's transforms in JAX,
against the C core, bit for bit; split and fold_in against Key.child and
Key.fold_in; jit, vmap and sharded outputs."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

# CI installs JAX (the "jax" extra); elsewhere these tests may skip.
jax = __import__("jax") if os.environ.get("CI") else pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import reference as ref  # noqa: E402

import ctrng  # noqa: E402
import ctrng.jax as cj  # noqa: E402
from ctrng.key import ALGORITHMS  # noqa: E402

ALGS = ("philox4x32", "threefry4x32")  # 32-bit words: no 64-bit JAX needed
ALGS64 = ("philox4x64", "threefry4x64")
KEYS = [ctrng.Key(root, rank=rank, stream=stream, algorithm=alg)
        for alg in ALGS
        for root, rank, stream in [(0, 0, 0), (2024, 3, 7), (2**64 - 1, 2**32 - 1, 2**32 - 1), (12345, 1, 2**31)]]
# element starts: 0, inside a block, across block boundaries, far, near the end of a 2**64-block stream
STARTS = [0, 1, 3, 5, 2**32 - 3, 2**40 + 7]


def test_import_ctrng_does_not_import_jax():
    code = "import sys, ctrng; ctrng.random(ctrng.Key(1), 3); assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- raw bits ------------------------------------------------------------------

def _stack(keys):
    """One JAX key array of ctrng.Keys of one algorithm."""
    impl = cj._SPECS[keys[0].algorithm]
    return jax.random.wrap_key_data(jnp.stack([cj.key_data(k) for k in keys]), impl=impl)


@pytest.mark.parametrize("algorithm", ALGS)
def test_jax_random_bits_is_the_stream_for_many_keys_under_jit_and_vmap(algorithm):
    keys = [k for k in KEYS if k.algorithm == algorithm]
    bits = jax.jit(jax.vmap(lambda k: jax.random.bits(k, (5, 7), jnp.uint32)))(_stack(keys))
    for k, b in zip(keys, np.asarray(bits)):
        assert b.shape == (5, 7)
        assert (b.reshape(-1) == ctrng.random_raw(k, 35)).all(), k


@pytest.mark.parametrize("key", KEYS[1::2], ids=repr)
def test_random_bits_at_any_start(key):
    k = cj.key(key)
    for start in STARTS + [4 * 2**64 - 37]:
        assert (np.asarray(cj.random_bits(k, 37, start)) == ctrng.random_raw(key, 37, start)).all(), start
    with jax.enable_x64(True):
        for start in STARTS + [2 * 2**64 - 37]:
            got = np.asarray(cj.random_bits(k, 37, start, np.uint64))
            assert (got == ctrng.random_raw(key, 37, start, np.uint64)).all(), start
        got = np.asarray(jax.random.bits(k, (9,), jnp.uint64))
        assert (got == ctrng.random_raw(key, 9, dtype=np.uint64)).all()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_narrow_bits_are_the_streams_bytes(dtype):
    key = KEYS[1]
    per = 4 // np.dtype(dtype).itemsize
    for start in [0, 1, 3, 5, 2**33 + 1]:
        word = start // per
        want = ctrng.random_raw(key, 40, word).view(dtype)[start - word * per:][:37]
        assert (np.asarray(cj.random_bits(cj.key(key), (37,), start, dtype)) == want).all(), start
    got = jax.random.bits(cj.key(key), (6,), dtype)
    assert (np.asarray(got) == ctrng.random_raw(key, 3).view(dtype)[:6]).all()


def test_seed_and_key_round_trip():
    assert cj.to_key(jax.random.key(2024, impl=cj.PHILOX4X32)) == ctrng.Key(2024)
    assert cj.to_key(jax.random.key(7, impl=cj.THREEFRY4X32)) == ctrng.Key(7, algorithm="threefry4x32")
    for k in KEYS:
        assert cj.to_key(cj.key(k)) == k
        assert cj.to_key(cj.key(k.root, rank=k.rank, stream=k.stream, algorithm=k.algorithm)) == k


def test_jax_random_functions_take_the_key():
    k = cj.key(1, rank=2)
    u = jax.jit(lambda k: jax.random.uniform(k, (1000,)))(k)
    assert 0 <= float(u.min()) and float(u.max()) < 1 and abs(float(u.mean()) - 0.5) < 0.05
    assert jax.random.normal(k, (3,)).shape == (3,)
    assert jax.random.randint(k, (4,), 0, 5).shape == (4,)


# ---- split and fold_in ---------------------------------------------------------

def _keys_of(arr, algorithm="philox4x32"):
    """The ctrng.Keys of a JAX key array (its key data read at once)."""
    nk = ALGORITHMS[algorithm].root_bits // 32
    words = np.asarray(jax.random.key_data(arr)).reshape(-1, nk + 2).astype(object)
    return [ctrng.Key(sum(int(w[i]) << (32 * i) for i in range(nk)), rank=int(w[nk + 1]), stream=int(w[nk]),
                      algorithm=algorithm) for w in words]


@pytest.mark.parametrize("algorithm", ALGS)
def test_split_is_key_child_in_and_out_of_the_tree(algorithm):
    split = jax.jit(lambda k: jax.random.split(k, 300))
    for stream in (0, 5, 2**24 - 1, 2**24, 2**32 - 1):
        key = ctrng.Key(2024, rank=3, stream=stream, algorithm=algorithm)
        kids = split(cj.key(key))
        assert _keys_of(kids, algorithm) == [key.child(j) for j in range(300)], stream
    key = ctrng.Key(9, rank=1, algorithm=algorithm)
    grid = jax.random.split(cj.key(key), (2, 3))
    assert grid.shape == (2, 3) and _keys_of(grid, algorithm) == [key.child(j) for j in range(6)]


@pytest.mark.parametrize("algorithm", ALGS)
def test_fold_in_is_key_fold_in(algorithm):
    key = ctrng.Key(2024, rank=3, stream=5, algorithm=algorithm)
    fold = jax.jit(jax.random.fold_in)
    for data in (0, 1, 77, 2**31, 2**32 - 1):
        assert cj.to_key(fold(cj.key(key), np.uint32(data))) == key.fold_in(data)
    assert cj.to_key(jax.random.fold_in(cj.key(key), 77)) == key.fold_in(77)


def test_split_chain_keeps_the_rank_and_never_repeats():
    """key, sub = split(key), 40 times: the tree for four levels, then
    hashed keys; every key differs and all stay in rank 6."""
    k, seen = cj.key(1, rank=6), set()
    step = jax.jit(lambda k: tuple(jax.random.split(k)))
    for _ in range(40):
        k, sub = step(k)
        for x in (k, sub):
            key = cj.to_key(x)
            assert key.rank == 6 and key not in seen
            seen.add(key)
    assert any(key.root != 1 for key in seen) and sum(key.root == 1 for key in seen) == 8


# ---- distributions ---------------------------------------------------------------

def _check(got, want):
    got = np.asarray(got)
    assert got.dtype == want.dtype and (got.reshape(-1) == want).all()


@pytest.mark.parametrize("algorithm", ALGS)
def test_floats_are_bit_identical(algorithm):
    key = ctrng.Key(5, rank=1, stream=2, algorithm=algorithm)
    k = cj.key(key)
    n = 1 << 16
    fns = {
        "random": (lambda k, s, dt: cj.random(k, (n,), s, dt), lambda s, dt: ctrng.random(key, n, s, dt)),
        "uniform": (lambda k, s, dt: cj.uniform(k, -1.5, 3.25, (n,), s, dt),
                    lambda s, dt: ctrng.uniform(key, -1.5, 3.25, n, s, dt)),
        "standard_normal": (lambda k, s, dt: cj.standard_normal(k, (n,), s, dt),
                            lambda s, dt: ctrng.standard_normal(key, n, s, dt)),
        "normal": (lambda k, s, dt: cj.normal(k, 2.0, 0.3, (n,), s, dt),
                   lambda s, dt: ctrng.normal(key, 2.0, 0.3, n, s, dt)),
    }
    with jax.enable_x64(True):
        for name, (jfn, cfn) in fns.items():
            for dt in (np.float32, np.float64):
                for start in (3, 2**64 - n):
                    _check(jax.jit(jfn, static_argnums=(1, 2))(k, start, dt), cfn(start, dt))
    # without 64-bit JAX: float32 is the default
    _check(jax.jit(lambda k: cj.standard_normal(k, (64,), 5))(k), ctrng.standard_normal(key, 64, 5, np.float32))
    _check(cj.random(key, (8, 8)), ctrng.random(key, 64, dtype=np.float32))  # a ctrng.Key works too


def test_floats_under_vmap_and_shapes():
    keys = [ctrng.Key(r, rank=r % 3) for r in range(6)]
    z = jax.vmap(lambda k: cj.standard_normal(k, (3, 5), 1))(_stack(keys))
    for k, row in zip(keys, np.asarray(z)):
        _check(row, ctrng.standard_normal(k, 15, 1, np.float32))
    assert cj.random(cj.key(1), ()).shape == () and cj.random(cj.key(1), (0, 3)).shape == (0, 3)


INTEGER_CASES = [(0, 6, np.int32), (-5, 2**16 - 5, np.int32), (0, 2**16, np.uint32), (10, 10 + 3 * 2**30, np.int64),
                 (0, 2**32, np.uint32), (-2**40, 2**50, np.int64), (0, 2**64, np.uint64), (-2**63, 2**63, np.int64),
                 (5, 2**63 + 2**62, np.uint64)]


@pytest.mark.parametrize("algorithm", ALGS)
def test_integers_are_bit_identical(algorithm):
    key = ctrng.Key(99, rank=1, stream=2, algorithm=algorithm)
    k = cj.key(key)
    starts = (0, 3, 2**40 + 1, 2**57 - 50)
    with jax.enable_x64(True):
        cases = INTEGER_CASES if algorithm == "philox4x32" else INTEGER_CASES[1::2]  # each compiles anew
        for c, (low, high, dt) in enumerate(cases):
            start = starts[c % len(starts)]
            got = jax.jit(lambda k: cj.integers(k, low, high, (50,), start, dt))(k)
            _check(got, ctrng.integers(key, low, high, 50, start, dt))
    _check(cj.integers(k, 0, 10, (20,)), ctrng.integers(key, 0, 10, 20, dtype=np.int32))


@pytest.mark.parametrize("algorithm", ALGS)
def test_integers_resolve_rejected_draws_like_the_c_core(algorithm):
    """m = 65175 rejects a 32-bit draw with probability 65146 / 2**32: about
    16 of 2**20 elements, each redrawn from its retry blocks."""
    key = ctrng.Key(99, rank=1, stream=2, algorithm=algorithm)
    m, n = 65175, 1 << 20
    x = ctrng.random_raw(key, n).astype(np.uint64) * np.uint64(m)
    assert ((x & np.uint64(0xFFFFFFFF)) < (1 << 32) % m).sum() >= 5
    keys = [key, key.replace(stream=3)]  # under vmap too: the while_loops batched
    got = jax.jit(jax.vmap(lambda k: cj.integers(k, 0, m, (n,))))(_stack(keys))
    for k, row in zip(keys, got):
        _check(row, ctrng.integers(k, 0, m, n, dtype=np.int32))


def _reference_retry(key, e, m, bits):
    """The offset of element e from its retries alone (tests/reference.py)."""
    r, ok = 0, False
    while not ok and r < 64:
        ok, off = ref.lemire(ref.retry_draw(key.algorithm, key.root, key.rank, key.stream, e, r, bits), m, bits)
        r += 1
    return off


@pytest.mark.parametrize("algorithm", ALGS)
def test_retry_draws_match_the_reference(algorithm):
    """The retry path for 32-, 64- and 128-bit draws (64- and 128-bit
    rejections are too rare to meet by chance), against tests/reference.py:
    the retries alone, and the batch fixer with every element rejected."""
    key = ctrng.Key(99, rank=1, stream=2, algorithm=algorithm)
    alg, kd = cj._unwrap(key)
    es = [0, 1, 77, 2**33 + 5, 2**57 - 1]
    e_lo = jnp.array([e & 0xFFFFFFFF for e in es], jnp.uint32)
    e_hi = jnp.array([e >> 32 for e in es], jnp.uint32)
    with jax.enable_x64(True):
        for bits, m in [(32, 12345), (64, 3 * 2**30 + 7), (128, 2**50 + 3)]:
            zero = jnp.zeros(len(es), jnp.uint64 if bits == 128 else jnp.uint32)
            got = [int(v) for v in cj._retried(alg, kd, bits, m, e_lo, e_hi, zero)]
            assert got == [_reference_retry(key, e, m, bits) for e in es], bits
            start, n = 2**40 + 3, 300  # more than one batch of RETRY_BATCH
            zero = jnp.zeros(n, zero.dtype)
            got = cj._fix_rejected(alg, kd, bits, m, zero, jnp.ones(n, bool), start)
            assert [int(v) for v in got[::37]] == [_reference_retry(key, start + e, m, bits)
                                                   for e in range(0, n, 37)], bits


@pytest.mark.parametrize("algorithm", ALGS)
def test_bernoulli_is_bit_identical(algorithm):
    key = ctrng.Key(3, rank=4, algorithm=algorithm)
    k = cj.key(key)
    for p in (0.0, 0.3, 2**-11, 1 - 2**-53, 1.0):
        for start in (0, 7, 2 * 2**64 - 100):
            _check(cj.bernoulli(k, p, (100,), start), ctrng.bernoulli(key, p, 100, start))
        _check(cj.bernoulli(k, p, (100,), 7, np.uint8), ctrng.bernoulli(key, p, 100, 7, dtype=np.uint8))


# ---- the 4x64 ciphers (64-bit JAX) ------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGS64)
def test_64_bit_ciphers_are_bit_identical(algorithm):
    """philox4x64 and threefry4x64 keys (8 words a block): bits, floats,
    normals, integers (128-bit draws included), Bernoulli, split, fold_in and
    seeds, with 64-bit JAX."""
    key = ctrng.Key(2**100 + 12345, rank=3, stream=7, algorithm=algorithm)
    k = cj.key(key)
    end32, end64 = key.block_bytes // 4 << 64, key.block_bytes // 8 << 64
    with jax.enable_x64(True):
        assert (np.asarray(jax.random.bits(k, (9,), jnp.uint32)) == ctrng.random_raw(key, 9)).all()
        for start in (5, 2**32 - 3, end32 - 37):
            _check(cj.random_bits(k, 37, start), ctrng.random_raw(key, 37, start))
        for start in (3, end64 - 37):
            _check(cj.random_bits(k, 37, start, np.uint64), ctrng.random_raw(key, 37, start, np.uint64))
        _check(cj.random_bits(k, 37, 5, np.uint16), ctrng.random_raw(key, 21, 2).view(np.uint16)[1:38])
        for start, dt in ((3, np.float32), (2**33 + 1, np.float64)):
            _check(jax.jit(lambda k: cj.random(k, (5, 7), start, dt))(k), ctrng.random(key, 35, start, dt))
            _check(jax.jit(lambda k: cj.normal(k, 1.0, 2.0, (35,), start, dt))(k),
                   ctrng.normal(key, 1.0, 2.0, 35, start, dt))
        for (low, high, dt), start in zip(INTEGER_CASES[::2], (0, 3, 2**40 + 1, 2**57 - 50, 7)):
            _check(cj.integers(k, low, high, (50,), start, dt), ctrng.integers(key, low, high, 50, start, dt))
        _check(cj.bernoulli(k, 0.3, (100,), 7), ctrng.bernoulli(key, 0.3, 100, 7))
        kids = _keys_of(jax.random.split(k, 300), algorithm)
        assert kids == [key.child(j) for j in range(300)]
        assert cj.to_key(jax.random.fold_in(k, 5)) == key.fold_in(5)
        assert cj.to_key(jax.random.key(5, impl=cj._SPECS[algorithm])) == ctrng.Key(5, algorithm=algorithm)


# ---- errors ------------------------------------------------------------------------

def test_errors():
    k = cj.key(1)
    with pytest.raises(TypeError, match="jax_enable_x64"):
        cj.random(cj.key(1, algorithm="philox4x64"), 3, dtype=np.float32)
    with pytest.raises(TypeError, match="jax_enable_x64"):
        jax.random.bits(cj.key(1, algorithm="threefry4x64"), (3,), jnp.uint32)
    with pytest.raises(NotImplementedError, match="rounds"):
        cj.key(ctrng.Key(1, rounds=7))
    with pytest.raises(TypeError, match="jax_enable_x64"):
        cj.random(k, 3, dtype=np.float64)
    with pytest.raises(TypeError, match="jax_enable_x64"):
        cj.integers(k, 0, 2**40, 3, dtype=np.int64)
    with pytest.raises(ValueError):
        cj.uniform(k, 2.0, 1.0, 3)
    with pytest.raises(ValueError):  # finite in float32, as ctrng.uniform's parameters must be
        cj.uniform(k, 0.0, 1e39, 3, dtype=np.float32)
    with pytest.raises(ValueError):
        cj.normal(k, 1e39, 1.0, 3, dtype=np.float32)
    with pytest.raises(TypeError):
        cj.uniform(k, True, 2.0, 3)
    with pytest.raises(TypeError):
        cj.random(k, 3.0)
    with pytest.raises(ValueError):
        cj.normal(k, 0.0, -1.0, 3)
    with pytest.raises(ValueError):
        cj.integers(k, 5, 5, 3)
    with pytest.raises(ValueError):
        cj.integers(k, 0, 2**31 + 1, 3, dtype=np.int32)
    with pytest.raises(ValueError):
        cj.bernoulli(k, 1.5, 3)
    with pytest.raises(ValueError, match="end of the stream"):
        cj.random(k, 3, start=4 * 2**64 - 2)
    with pytest.raises(ValueError, match="end of the stream"):
        cj.integers(k, 0, 3, 3, start=2**57 - 2)
    with pytest.raises(TypeError, match="ctrng.jax key"):
        cj.random(jax.random.key(1), 3)
    with pytest.raises(TypeError):
        cj.random(np.zeros(4, np.uint32), 3)
    with pytest.raises(ValueError, match="vmap"):
        cj.random(jax.random.split(k, 2), 3)
    with pytest.raises(TypeError):
        cj.random(k, 3, dtype=np.int32)
    with pytest.raises(TypeError):
        cj.key(ctrng.Key(1), rank=2)


# ---- sharding ------------------------------------------------------------------------

SHARDED = textwrap.dedent("""
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import numpy as np, jax, jax.numpy as jnp, ctrng, ctrng.jax as cj
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    assert len(jax.devices()) == 4
    key = ctrng.Key(2024, rank=3, stream=1)
    k = cj.key(key)
    mesh1 = Mesh(np.array(jax.devices()), ("x",))
    mesh2 = Mesh(np.array(jax.devices()).reshape(2, 2), ("a", "b"))
    cases = [
        ((4096,), NamedSharding(mesh1, P("x")), lambda k, s: jax.random.bits(k, s, jnp.uint32),
         lambda n: ctrng.random_raw(key, n)),
        ((64, 48), NamedSharding(mesh2, P("a", "b")), lambda k, s: jax.random.bits(k, s, jnp.uint32),
         lambda n: ctrng.random_raw(key, n)),
        ((64, 48), NamedSharding(mesh2, P("b", "a")), lambda k, s: cj.random(k, s, 3),
         lambda n: ctrng.random(key, n, 3, np.float32)),
        ((30, 40), NamedSharding(mesh2, P(None, ("a", "b"))), lambda k, s: cj.standard_normal(k, s, 1),
         lambda n: ctrng.standard_normal(key, n, 1, np.float32)),
        ((1 << 18,), NamedSharding(mesh1, P("x")), lambda k, s: cj.integers(k, 0, 65175, s),
         lambda n: ctrng.integers(key, 0, 65175, n, dtype=np.int32)),
        ((32, 64), NamedSharding(mesh2, P("a", "b")), lambda k, s: cj.bernoulli(k, 0.3, s),
         lambda n: ctrng.bernoulli(key, 0.3, n)),
    ]
    for shape, sharding, f, want in cases:
        plain = jax.jit(f, static_argnums=1)(k, shape)
        sharded = jax.jit(f, static_argnums=1, out_shardings=sharding)(k, shape)
        assert len(sharded.addressable_shards) == 4
        assert sharded.sharding.is_equivalent_to(sharding, len(shape))
        assert (np.asarray(sharded) == np.asarray(plain)).all(), shape
        assert (np.asarray(sharded).reshape(-1) == want(np.prod(shape))).all(), shape
    with jax.enable_x64(True):  # a 4x64 cipher
        key = ctrng.Key(7, rank=1, algorithm="threefry4x64")
        f = jax.jit(lambda k: cj.random(k, (64, 48), 1, np.float64),
                    out_shardings=NamedSharding(mesh2, P("a", "b")))
        got = f(cj.key(key))
        assert len(got.addressable_shards) == 4
        assert (np.asarray(got).reshape(-1) == ctrng.random(key, 64 * 48, 1)).all()
    print("ok")
""")


def test_sharded_outputs_equal_unsharded_ones():
    """Over a mesh of 4 CPU devices (a fresh process: XLA reads the device
    count once), every sharding of the output gives the same values."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
