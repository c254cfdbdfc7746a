"""ctrng.DistributedSampler: torch's padding and drop_last rules, one global
order for any number of replicas, exact mid-epoch resume (also elastic),
O(1) memory, and a real torch DataLoader."""

import math
import os
import pickle

import pytest

import ctrng
from ctrng.shuffle.sampler import SAMPLER_RANK


def _ranks(n, replicas, **kw):
    return [ctrng.DistributedSampler(n, num_replicas=replicas, rank=r, **kw) for r in range(replicas)]


def _step_order(samplers):
    """All ranks' indices taken in global step order (step, then rank)."""
    lists = [list(s) for s in samplers]
    assert len({len(x) for x in lists}) == 1
    return [x for step in zip(*lists) for x in step]


@pytest.mark.parametrize("n", [1, 7, 10, 1000, 12345])
@pytest.mark.parametrize("drop_last", [False, True])
def test_padding_and_drop_last_follow_torch(n, drop_last):
    """Lengths and contents by torch's rule, with the global order standing
    for torch's permuted index list."""
    order = ctrng.IndexPermutation(ctrng.Key(3, rank=SAMPLER_RANK, stream=0), n)[:].tolist()
    for replicas in (1, 2, 3, 8):
        if drop_last and n % replicas:
            num_samples = math.ceil((n - replicas) / replicas)
        else:
            num_samples = math.ceil(n / replicas)
        total = num_samples * replicas
        indices = list(order)
        if not drop_last:
            pad = total - len(indices)
            indices += (indices * math.ceil(pad / len(indices)))[:pad] if pad > len(indices) else indices[:pad]
        else:
            indices = indices[:total]
        for r, s in enumerate(_ranks(n, replicas, seed=3, drop_last=drop_last)):
            assert len(s) == num_samples == s.num_samples
            assert list(s) == indices[r:total:replicas]


@pytest.mark.parametrize("n", [10, 999, 10**5 + 3])
def test_global_order_does_not_depend_on_replicas(n):
    full = _step_order(_ranks(n, 1, seed=11, drop_last=True))
    assert sorted(full) == list(range(n))
    for replicas in (2, 3, 8):
        got = _step_order(_ranks(n, replicas, seed=11, drop_last=True))
        assert got == full[:len(got)]


def test_epochs_and_seeds_change_the_order_and_shuffle_false_does_not_shuffle():
    s = ctrng.DistributedSampler(1000, num_replicas=1, rank=0, seed=5)
    e0 = list(s)
    assert list(s) == e0  # iterating again repeats the epoch
    s.set_epoch(1)
    e1 = list(s)
    assert sorted(e1) == sorted(e0) and e1 != e0
    assert list(ctrng.DistributedSampler(1000, num_replicas=1, rank=0, seed=6)) != e0
    assert list(ctrng.DistributedSampler(10, num_replicas=2, rank=1, shuffle=False)) == [1, 3, 5, 7, 9]


@pytest.mark.parametrize("before, after", [(4, 4), (4, 3), (2, 8), (3, 1)])
def test_resume_mid_epoch_with_any_replicas(before, after):
    """Ranks consume k steps, save, and a job of `after` ranks resumes: the
    indices seen before plus after, in global order, are the epoch order."""
    n, steps = 1003, 37
    full = _step_order(_ranks(n, 1, seed=2, drop_last=True))
    ranks = _ranks(n, before, seed=2, drop_last=True)
    for s in ranks:
        s.set_epoch(0)
    iters = [iter(s) for s in ranks]
    seen = [next(it) for _ in range(steps) for it in iters]
    states = [s.state_dict() for s in ranks]
    assert all(st == states[0] for st in states)  # lockstep: every rank saves the same position
    assert seen == full[:steps * before]
    state = pickle.loads(pickle.dumps(states[0]))
    resumed = _ranks(n, after, seed=2, drop_last=True)
    for s in resumed:
        s.load_state_dict(state)
        s.set_epoch(0)  # the training loop's usual call keeps the resume point
    rest = _step_order(resumed)
    assert len(resumed[0]) == len(list(resumed[0]))
    assert seen + rest == full[:len(seen) + len(rest)]
    assert len(seen) + len(rest) > n - after  # nothing but the drop_last tail is lost
    assert list(resumed[0])[:3] == full[:3 * after:after]  # the next iteration starts the epoch over


def test_state_dict_with_explicit_consumed_and_new_epoch_resets():
    s = ctrng.DistributedSampler(100, num_replicas=4, rank=1, seed=9)
    state = s.state_dict(consumed=5)
    assert state["position"] == 20
    t = ctrng.DistributedSampler(100, num_replicas=4, rank=1, seed=9)
    t.load_state_dict(state)
    assert len(t) == 20
    t.set_epoch(1)
    assert len(t) == 25
    with pytest.raises(ValueError, match="seed"):
        ctrng.DistributedSampler(100, seed=10).load_state_dict(state)
    with pytest.raises(ValueError):
        t.load_state_dict({"position": 3})


def test_memory_does_not_grow_with_the_dataset():
    """A 10**12-item epoch: the first indices come at once and distinct."""
    s = ctrng.DistributedSampler(10**12, num_replicas=64, rank=5, seed=1)
    it = iter(s)
    first = [next(it) for _ in range(10000)]
    assert len(set(first)) == 10000 and max(first) < 10**12
    assert len(s) == 10**12 // 64


def test_world_from_environment(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    s = ctrng.DistributedSampler(range(10))
    assert (s.num_replicas, s.rank) == (4, 2)
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.delenv("RANK")
    s = ctrng.DistributedSampler(range(10))
    assert (s.num_replicas, s.rank) == (1, 0)


def test_bad_input():
    with pytest.raises(ValueError, match="rank"):
        ctrng.DistributedSampler(10, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        ctrng.DistributedSampler(10, num_replicas=0, rank=0)
    with pytest.raises(TypeError):
        ctrng.DistributedSampler(10, shuffle=1)
    with pytest.raises(TypeError):
        ctrng.DistributedSampler(10, seed=1.5)
    with pytest.raises(TypeError):
        ctrng.DistributedSampler(object())


def test_a_seed_drawn_from_the_os_is_refused():
    """Each rank would draw its own root (and a new one per iteration), so
    the ranks' shares would overlap and miss indices: torch's sampler takes
    one integer seed shared by all ranks, and so must this one."""
    with pytest.raises(TypeError, match="seed .*not None"):
        ctrng.DistributedSampler(10, num_replicas=2, rank=0, seed=None)
    # the default is torch's, 0, and the ranks partition the epoch
    shares = [list(ctrng.DistributedSampler(10, num_replicas=2, rank=r)) for r in range(2)]
    assert sorted(shares[0] + shares[1]) == list(range(10))
    assert shares == [list(ctrng.DistributedSampler(10, num_replicas=2, rank=r, seed=0)) for r in range(2)]


def test_with_a_torch_dataloader():
    # CI installs torch (the "torch" extra); elsewhere the test may skip.
    torch = __import__("torch") if os.environ.get("CI") else pytest.importorskip("torch")
    from torch.utils.data import DataLoader, Dataset

    class Squares(Dataset):
        def __len__(self):
            return 103

        def __getitem__(self, i):
            return torch.tensor([i, i * i])

    expected = _ranks(103, 2, seed=4)
    for workers in (0, 2):
        got = []
        for r in range(2):
            sampler = ctrng.DistributedSampler(Squares(), num_replicas=2, rank=r, seed=4)
            sampler.set_epoch(0)
            loader = DataLoader(Squares(), batch_size=8, sampler=sampler, num_workers=workers)
            batches = list(loader)
            assert len(loader) == len(batches) == math.ceil(52 / 8)
            rows = torch.cat(batches)
            assert torch.equal(rows[:, 1], rows[:, 0] ** 2)
            got.append(rows[:, 0].tolist())
        assert got == [list(s) for s in expected]


def test_ctrng_imports_without_torch():
    import subprocess
    import sys
    code = ("import sys; sys.modules['torch'] = None; import ctrng; "
            "print(list(ctrng.DistributedSampler(4, num_replicas=1, rank=0, shuffle=False)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[0, 1, 2, 3]"


def test_state_after_a_resumed_epoch_runs_to_its_end():
    """A resumed iteration that finishes saves the end of the epoch, and the
    next iteration starts the epoch over."""
    s = ctrng.DistributedSampler(100, num_replicas=2, rank=0, seed=3)
    s.load_state_dict(ctrng.DistributedSampler(100, num_replicas=2, rank=0, seed=3).state_dict(consumed=20))
    rest = list(s)
    assert len(rest) == 30
    assert s.state_dict()["position"] == 100
    assert len(s) == 50 and len(list(s)) == 50


def test_a_refused_state_changes_nothing():
    s = ctrng.DistributedSampler(100, num_replicas=4, rank=1, seed=9)
    s.load_state_dict(ctrng.DistributedSampler(100, num_replicas=4, rank=1, seed=9).state_dict(consumed=3))
    before = s.state_dict()
    good = dict(before, epoch=5, position=40)
    bad = [dict(good, position=-1), dict(good, position=2**64), dict(good, position=1.5), dict(good, epoch=-1),
           dict(good, epoch=2**32), dict(good, epoch="5"), dict(good, version=2), dict(good, n=99),
           dict(good, seed=8), dict(good, shuffle=False), None, 7, list(good.items()), dict(good, extra=1)]
    bad += [{k: v for k, v in good.items() if k != name} for name in good]
    for state in bad:
        with pytest.raises((TypeError, ValueError)):
            s.load_state_dict(state)
        assert s.state_dict() == before and s.epoch == 0, state
    twin = ctrng.DistributedSampler(100, num_replicas=4, rank=1, seed=9)
    twin.load_state_dict(before)
    assert len(s) == len(twin) == 22 and list(s) == list(twin)
    with pytest.raises(ValueError, match=r"state is missing 'epoch': expected a dict from DistributedSampler\.state_dict"):
        s.load_state_dict({k: v for k, v in good.items() if k != "epoch"})
    with pytest.raises(TypeError, match="state must be a dict"):
        s.load_state_dict(None)
