"""ctrng: reproducible, non-overlapping random numbers for every worker of a
parallel job.

Every value is a pure function of (algorithm, root, rank, stream, position),
computed by a counter-based block cipher (Random123's Philox and Threefry),
so runs can never share numbers by accident the way ``seed + rank`` does.
ctrng is not a cryptographic generator; use :mod:`secrets` for that.
"""

from . import init
from ._core.bridge import available_isas
from .bitgen import Philox4x32, Philox4x64, Threefry4x32, Threefry4x64
from .generator import Generator
from .key import Key
from .seeds import derive_seed
from .shuffle.files import shuffle_file
from .shuffle.index_permutation import IndexPermutation
from .shuffle.parquet import shuffle_parquet
from .shuffle.permutation import permutation
from .shuffle.sampler import DistributedSampler
from .stateless import bernoulli, integers, normal, random, random_raw, standard_normal, uniform

__all__ = ["Key", "Generator", "random_raw", "random", "uniform", "standard_normal", "normal", "integers",
           "bernoulli", "permutation", "IndexPermutation", "DistributedSampler",
           "shuffle_file", "shuffle_parquet", "derive_seed",
           "Philox4x32", "Philox4x64", "Threefry4x32", "Threefry4x64", "available_isas"]
__version__ = "0.1.0"
