"""The C core under AddressSanitizer and UndefinedBehaviorSanitizer.

* A fuzz driver (tests/c/fuzz_core.c) compiled with the sanitizers runs
  random cases (cipher, key, start, count, distribution, output offset;
  permutations; index permutations) for CTRNG_FUZZ_SECONDS (default 15)
  from seed CTRNG_FUZZ_SEED (default 1), checking guard bytes, code-path
  agreement, split fills and bijections, once as built and once with the
  AVX-512 kernels compiled for AVX2; the same driver also runs as a
  coverage-guided libFuzzer target where clang is installed (CI installs it).
* The extension itself, built with CTRNG_SANITIZE's flags, runs the test
  files that exercise the C core with libasan preloaded, one child process
  a file, side by side (one per core).
* The fuzz builds share the objects whose preprocessed source and flags are
  the same; every source is compiled on its own core.
"""

import hashlib
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cpu import AVX512, cpu_flags

ROOT = Path(__file__).resolve().parents[2]
C_CORE_TESTS = ["core/test_ciphers.py", "test_key.py", "test_stateless.py", "test_distributions.py",
                "shuffle/test_permutation.py", "shuffle/test_index_permutation.py", "test_bitgen.py", "test_generator.py"]


def _build_script():
    spec = importlib.util.spec_from_file_location("ctrng_ffi_build", ROOT / "src" / "ctrng" / "_core" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _libasan():
    path = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert os.path.isabs(path), "gcc has no AddressSanitizer runtime (libasan): install it to run these tests"
    return path


def _object(compiler, flags, source, cache):
    """`source` compiled with `flags` into `cache`, reused by every build whose
    preprocessed source and other flags are the same (keyed as ccache keys
    them): the fuzz driver's two gcc builds differ only in a -D that two of
    the sources read, so the rest is compiled once."""
    build = _build_script()
    preprocessed = subprocess.run([compiler, *flags, f"-I{build.CSRC}", "-E", str(source)], capture_output=True,
                                  check=True).stdout
    key = hashlib.sha256(repr([compiler, [f for f in flags if not f.startswith("-D")]]).encode() + preprocessed)
    obj = cache / f"{source.stem}-{key.hexdigest()[:16]}.o"
    if not obj.exists():
        subprocess.run([compiler, *flags, f"-I{build.CSRC}", "-c", str(source), "-o", str(obj)], check=True)
    return obj


def _compile(compiler, flags, exe, cache):
    """Build the fuzz driver and the C core into `exe`, each source compiled
    on its own core (the sanitized builds are most of these tests' time)."""
    build = _build_script()
    sources = [build.CSRC / name for name in build.SOURCES] + [ROOT / "tests" / "c" / "fuzz_core.c"]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        objects = list(pool.map(lambda source: _object(compiler, flags, source, cache), sources))
    subprocess.run([compiler, *flags, *map(str, objects), "-lm", "-o", str(exe)], check=True)
    return exe


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    """The object files the fuzz builds share (see _object)."""
    return tmp_path_factory.mktemp("objects")


@pytest.mark.parametrize("avx512_as_avx2", [False, True], ids=["native", "avx512-kernels-on-avx2"])
def test_fuzz_the_core(tmp_path, objects, avx512_as_avx2):
    """The fuzz driver on this CPU's code paths; and with the AVX-512 kernels
    compiled for AVX2 (the same source, only the multiply differs), so that
    machines without AVX-512 check their logic against the other paths."""
    has_avx2, has_avx512 = "avx2" in cpu_flags(), AVX512 <= cpu_flags()
    if avx512_as_avx2 and not has_avx2:
        pytest.skip("this CPU has no AVX2 to run the AVX-512 kernels' test build on")
    build = _build_script()
    defines = ["-DCTRNG_AVX512_AS_AVX2"] if avx512_as_avx2 else []
    exe = _compile("gcc", [*build.COMPILE_ARGS, *build.SANITIZE_ARGS, *defines], tmp_path / "fuzz_core", objects)
    seconds = os.environ.get("CTRNG_FUZZ_SECONDS", "15")
    seed = os.environ.get("CTRNG_FUZZ_SEED", "1")
    run = subprocess.run([str(exe), seconds, seed], capture_output=True, text=True, timeout=float(seconds) + 600)
    assert run.returncode == 0, run.stderr[-4000:]
    paths = int(run.stdout.split("code paths:")[1].split()[0])
    assert paths == 1 + has_avx2 + (has_avx512 or avx512_as_avx2)
    cases = int(run.stdout.split("cases:")[1])
    assert cases > 100


def test_libfuzzer_on_the_core(tmp_path, objects):
    """The same cases as a libFuzzer target (clang -fsanitize=fuzzer), coverage
    guided: each input's first 8 bytes are a case's seed."""
    clang = shutil.which("clang")
    if clang is None:
        if os.environ.get("CI"):
            pytest.fail("clang is not installed (.ci/run installs Debian's clang and libclang-rt)")
        pytest.skip("clang with libFuzzer is not installed")
    build = _build_script()
    flags = [f for f in build.COMPILE_ARGS + build.SANITIZE_ARGS if f != "-Wno-psabi"]
    flags[flags.index("-fsanitize=address,undefined")] = "-fsanitize=fuzzer,address,undefined"
    exe = _compile(clang, [*flags, "-DCTRNG_LIBFUZZER"], tmp_path / "fuzz_core_libfuzzer", objects)
    seconds = os.environ.get("CTRNG_FUZZ_SECONDS", "15")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # Linux starts a child's peak RSS, which libFuzzer's memory limit reads,
    # at this process's peak (kept across fork and exec): allow its default
    # 2 GB above what the test process (with the frameworks loaded) holds.
    inherited_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    run = subprocess.run([str(exe), str(corpus), f"-max_total_time={seconds}", "-max_len=8", "-seed=1",
                          f"-rss_limit_mb={2048 + inherited_mb}", "-malloc_limit_mb=2048"],
                         capture_output=True, text=True, timeout=float(seconds) + 600)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Done " in run.stderr


@pytest.fixture(scope="module")
def sanitized_package(tmp_path_factory):
    """A copy of the ctrng package whose extension has the sanitizers."""
    root = tmp_path_factory.mktemp("sanitized")
    shutil.copytree(ROOT / "src" / "ctrng", root / "ctrng", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    _build_script().make_builder(sanitize=True, absolute=True).compile(tmpdir=str(root))
    return root


def test_core_tests_under_sanitizers(sanitized_package):
    env = dict(os.environ, PYTHONPATH=str(sanitized_package), LD_PRELOAD=_libasan(),
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1", UBSAN_OPTIONS="print_stacktrace=1")
    probe = subprocess.run([sys.executable, "-c", "import ctrng._core._ctrng as m; print(m.__file__)"], env=env,
                           capture_output=True, text=True, check=True)
    assert probe.stdout.startswith(str(sanitized_package))  # the sanitized build is the one tested
    # One child pytest a file, run side by side, one per core: under ASan
    # they take two to three minutes in a row, test_stateless.py about half.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        runs = list(pool.map(lambda name: subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", str(ROOT / "tests" / name)],
            env=env, capture_output=True, text=True, cwd=ROOT, timeout=1200), C_CORE_TESTS))
    for name, run in zip(C_CORE_TESTS, runs):
        assert run.returncode == 0, (name, run.stdout[-3000:], run.stderr[-3000:])
        assert " passed" in run.stdout and "failed" not in run.stdout, (name, run.stdout[-3000:])
