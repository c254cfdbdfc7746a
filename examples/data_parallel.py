"""A small data-parallel training loop with ctrng for initialisation,
shuffling and dropout.  Runs on CPUs with the gloo backend:

    torchrun --nproc-per-node 2 examples/data_parallel.py
    torchrun --nproc-per-node 2 examples/data_parallel.py --steps 20 --root 7

Every rank builds the same model (``ctrng.init`` keys each parameter by its
name), reads its share of one global epoch order (``ctrng.DistributedSampler``),
and draws its own dropout masks (stream 1 of its rank).  Rank 0 prints one
JSON line per step: the all-reduced loss and a fingerprint of each rank's
dropout mask.  Running it again prints the same lines.
"""

import argparse
import json
import zlib

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import ctrng
import ctrng.torch as ct

DROPOUT_STREAM = 1


class Net(nn.Module):
    def __init__(self, width=64):
        super().__init__()
        self.fc1 = nn.Linear(16, width)
        self.fc2 = nn.Linear(width, 1)

    def forward(self, x, mask):
        h = torch.relu(self.fc1(x))
        return self.fc2(h * mask / 0.9)  # dropout with keep probability 0.9, mask from ctrng


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=int, default=2024)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    dist.init_process_group("gloo")
    try:
        train(args)
        dist.barrier()  # no rank tears its connections down while another still uses them
    finally:
        # after train() returned: the DDP model, which holds work on the
        # group, is gone first (else gloo's threads may abort the process
        # at exit)
        dist.destroy_process_group()


def train(args):
    rank, world, _ = ct.world()
    torch.set_num_threads(1)

    # A synthetic regression set, the same on every rank.
    data_key = ctrng.Key(args.root, rank=ctrng.init.INIT_RANK, stream=2**31)
    x = torch.from_numpy(ctrng.standard_normal(data_key, 4096 * 16, dtype=np.float32).reshape(4096, 16))
    y = x[:, :1] * 2.0 - x[:, 1:2] + 0.1 * torch.from_numpy(
        ctrng.standard_normal(data_key, 4096, start=4096 * 16, dtype=np.float32).reshape(4096, 1))
    dataset = TensorDataset(x, y)

    model = Net()
    for name, param in model.named_parameters():  # the same weights on every rank, by name
        key = ctrng.init.parameter_key(args.root, name)
        if name.endswith("weight"):
            ctrng.init.kaiming_uniform_(param, key, a=5 ** 0.5)
        else:
            ctrng.init.uniform_(param, key, -0.05, 0.05)
    model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    sampler = ctrng.DistributedSampler(dataset, seed=args.root)
    loader = DataLoader(dataset, batch_size=args.batch, sampler=sampler)
    dropout_key = ctrng.Key(args.root, rank=rank, stream=DROPOUT_STREAM)
    mask = torch.empty(args.batch, 64, dtype=torch.bool)

    step = 0
    for epoch in range(10**6):
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            ct.bernoulli_(mask, dropout_key, 0.9, start=step * mask.numel())
            loss = nn.functional.mse_loss(model(xb, mask[:len(xb)].float()), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total = loss.detach().clone()
            dist.all_reduce(total)
            prints = [None] * world
            dist.all_gather_object(prints, zlib.crc32(mask.numpy().tobytes()))
            if rank == 0:
                print(json.dumps({"step": step, "loss": round(total.item() / world, 6), "masks": prints}),
                      flush=True)
            step += 1
            if step == args.steps:
                return


if __name__ == "__main__":
    main()
