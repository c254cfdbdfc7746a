"""The examples in the docstrings run and print what they say."""

import doctest
import importlib
import os

import pytest

MODULES = ["ctrng._core.bridge", "ctrng.key", "ctrng.stateless", "ctrng.generator", "ctrng.shuffle.permutation",
           "ctrng.shuffle.index_permutation", "ctrng.shuffle.sampler", "ctrng.shuffle.files", "ctrng.seeds", "ctrng.dask",
           "ctrng.bitgen", "ctrng.numba", "ctrng.init", "ctrng.tf", "ctrng.jax"]
# CI installs TensorFlow and JAX (the "tf" and "jax" extras); elsewhere their modules may skip.
OPTIONAL = {"ctrng.tf": "tensorflow", "ctrng.jax": "jax"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name in OPTIONAL and not os.environ.get("CI"):
        pytest.importorskip(OPTIONAL[name])
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
