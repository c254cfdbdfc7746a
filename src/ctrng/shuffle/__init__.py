"""Permutations and shuffles: whole permutations of n items
(``permutation``), stateless index permutations (``index_permutation``), the
elastic data sampler built on them (``sampler``), and out-of-core file
shuffles (``files``)."""
