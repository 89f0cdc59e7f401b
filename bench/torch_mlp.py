"""PyTorch CPU reference for bench/mlp.py: mini-batch Adam epochs of an MLP, float64, eager.

Run by bench/mlp.py under a Python that has torch::

    python bench/torch_mlp.py DATA.npz --hidden 64 64 --batch 256 --epochs 3 --task regression

Prints one JSON line: the fastest epoch in seconds and the final training loss. The loop is the
standard idiom: ``nn.Sequential`` of ``Linear``/``ReLU``, a fresh ``randperm`` per epoch, index
the batch, forward, loss (``MSELoss`` or ``CrossEntropyLoss``), ``zero_grad``, backward,
``optim.Adam`` step.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--hidden", type=int, nargs="+", default=[100])
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--task", choices=("regression", "classification"), default="regression")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = np.load(args.data)
    X = torch.from_numpy(data["X"])
    classify = args.task == "classification"
    y = torch.from_numpy(data["y"]).long() if classify else torch.from_numpy(data["y"])[:, None]
    sizes = [X.shape[1], *args.hidden, int(y.max()) + 1 if classify else 1]
    layers: list[torch.nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [torch.nn.Linear(fan_in, fan_out, dtype=torch.float64), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    loss_fn = torch.nn.CrossEntropyLoss() if classify else torch.nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = X.shape[0]
    best = float("inf")
    loss = torch.tensor(0.0)
    for _ in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(n)
        for first in range(0, n, args.batch):
            rows = order[first : first + args.batch]
            optimizer.zero_grad()
            loss = loss_fn(model(X[rows]), y[rows])
            loss.backward()
            optimizer.step()
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"epoch_seconds": best, "last_batch_loss": float(loss.detach())}))


if __name__ == "__main__":
    main()
