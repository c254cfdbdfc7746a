"""The examples in the docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ["ctrng._fill", "ctrng.key", "ctrng.stateless", "ctrng.generator", "ctrng.permute",
           "ctrng.index_permutation", "ctrng.sampler", "ctrng.outofcore", "ctrng.seeds", "ctrng.dask",
           "ctrng.bitgen", "ctrng.numba", "ctrng.init"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
