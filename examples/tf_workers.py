"""Two TensorFlow worker processes on CPU, their randomness from ctrng:

    python examples/tf_workers.py
    python examples/tf_workers.py --steps 20 --root 7

Each worker (a plain process, rank 0 or 1 of 2) builds the same small model
(initial weights from ``ctrng.tf``, keyed by the run's seed and each
parameter's name), reads its share of one global epoch order
(``ctrng.tf.index_dataset`` over a ``ctrng.DistributedSampler``) and draws its
own dropout masks (``ctrng.tf.bernoulli`` on stream 1 of its rank, the
training step as the start position, inside one ``tf.function``).  The
workers do not exchange gradients here (with ``MultiWorkerMirroredStrategy``
they would all-reduce them; the streams are the same either way).  Each
prints one JSON line per step: its loss, a fingerprint of its dropout mask
and the first index of its batch.  Running it again prints the same lines.

Then it shows why not ``seed + rank``: with ``tf.random.set_seed(seed +
rank)``, run A (seed 100) rank 1 and run B (seed 101) rank 0 draw the same
dropout mask; with ctrng's keys (seed, rank) they do not.
"""

import argparse
import json
import os
import subprocess
import sys
import zlib

DROPOUT_STREAM = 1
N, FEATURES, WIDTH = 2048, 16, 64


def train(root, rank, world, steps, batch):
    import numpy as np
    import tensorflow as tf

    import ctrng
    import ctrng.tf as ctf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    # A synthetic regression set, the same on every rank.
    data_key = ctrng.Key(root, rank=ctrng.init.INIT_RANK, stream=2**31)
    x = ctf.standard_normal(data_key, (N, FEATURES), dtype="float32")
    y = x[:, :1] * 2.0 - x[:, 1:2] + 0.1 * ctf.standard_normal(data_key, (N, 1), start=N * FEATURES, dtype="float32")

    # The same initial weights on every rank, by parameter name.
    def weight(name, shape):
        key = ctrng.init.parameter_key(root, name)
        bound = 1.0 / np.sqrt(shape[0])
        return tf.Variable(ctf.uniform(key, -bound, bound, shape, dtype="float32"), name=name)

    params = [weight("fc1.weight", (FEATURES, WIDTH)), weight("fc1.bias", (WIDTH,)),
              weight("fc2.weight", (WIDTH, 1)), weight("fc2.bias", (1,))]
    dropout_key = ctrng.Key(root, rank=rank, stream=DROPOUT_STREAM)
    opt = tf.keras.optimizers.SGD(0.05)

    @tf.function
    def step_fn(step, idx):
        mask = ctf.bernoulli(dropout_key, 0.9, (batch, WIDTH), start=step * batch * WIDTH)
        xb, yb = tf.gather(x, idx), tf.gather(y, idx)
        with tf.GradientTape() as tape:
            h = tf.nn.relu(xb @ params[0] + params[1]) * tf.cast(mask, tf.float32) / 0.9
            loss = tf.reduce_mean((h @ params[2] + params[3] - yb) ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss, mask

    sampler = ctrng.DistributedSampler(N, num_replicas=world, rank=rank, seed=root, drop_last=True)
    batches = iter(ctf.index_dataset(sampler).batch(batch, drop_remainder=True))
    for step in range(steps):
        idx = next(batches)
        loss, mask = step_fn(tf.constant(step, tf.int64), idx)
        print(json.dumps({"rank": rank, "step": step, "loss": round(float(loss), 6),
                          "mask": zlib.crc32(mask.numpy().tobytes()), "first_index": int(idx[0])}), flush=True)


def seed_plus_rank_demo():
    """Dropout-mask fingerprints of run A (seed 100) rank 1 and run B (seed
    101) rank 0, by seed + rank and by ctrng."""
    import tensorflow as tf

    import ctrng
    import ctrng.tf as ctf

    def tf_mask(seed, rank):
        tf.random.set_seed(seed + rank)  # the common recipe
        return zlib.crc32((tf.random.uniform((32, WIDTH)) < 0.9).numpy().tobytes())

    def ctrng_mask(seed, rank):
        key = ctrng.Key(seed, rank=rank, stream=DROPOUT_STREAM)
        return zlib.crc32(ctf.bernoulli(key, 0.9, (32, WIDTH)).numpy().tobytes())

    return {"seed+rank": {"A rank 1": tf_mask(100, 1), "B rank 0": tf_mask(101, 0)},
            "ctrng": {"A rank 1": ctrng_mask(100, 1), "B rank 0": ctrng_mask(101, 0)}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=int, default=2024)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--world", type=int, default=2)
    parser.add_argument("--rank", type=int, help=argparse.SUPPRESS)  # set for the worker processes
    args = parser.parse_args()
    if args.rank is not None:
        train(args.root, args.rank, args.world, args.steps, args.batch)
        return
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    workers = [subprocess.Popen([sys.executable, __file__, "--rank", str(rank), "--world", str(args.world),
                                 "--root", str(args.root), "--steps", str(args.steps), "--batch", str(args.batch)],
                                stdout=subprocess.PIPE, text=True, env=env) for rank in range(args.world)]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    demo = seed_plus_rank_demo()  # while the workers run
    lines = []
    for w in workers:
        out, _ = w.communicate()
        if w.returncode:
            sys.exit(f"a worker failed with exit code {w.returncode}")
        lines += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for line in sorted(lines, key=lambda d: (d["step"], d["rank"])):
        print(json.dumps(line))
    for name, masks in demo.items():
        same = masks["A rank 1"] == masks["B rank 0"]
        print(json.dumps({"recipe": name, **masks, "collide": same}))


if __name__ == "__main__":
    main()
