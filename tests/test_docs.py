"""The examples in the docstrings run and print what they say."""

import doctest
import importlib
import os

import pytest

MODULES = ["ctrng._fill", "ctrng.key", "ctrng.stateless", "ctrng.generator", "ctrng.permute",
           "ctrng.index_permutation", "ctrng.sampler", "ctrng.outofcore", "ctrng.seeds", "ctrng.dask",
           "ctrng.bitgen", "ctrng.numba", "ctrng.init", "ctrng.tf"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "ctrng.tf" and not os.environ.get("CI"):  # CI installs TensorFlow (the "tf" extra)
        pytest.importorskip("tensorflow")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
