"""PyTorch CPU reference for bench/run.py: mini-batch Adam epochs of a linear model.

Run by bench/run.py under a Python that has torch (the same interpreter, or --torch-python):

    python bench/torch_adam.py DATA.npz --batch 256 4096 --epochs 2 --threads 2

Prints one JSON line: per batch size, the fastest epoch in seconds and the final training MSE.
The loop is the standard PyTorch idiom: a fresh permutation per epoch, index the batch, forward,
MSELoss, backward, Adam step.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--batch", type=int, nargs="+", default=[256])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = np.load(args.data)
    X = torch.from_numpy(data["X"])
    y = torch.from_numpy(data["y"])
    n, d = X.shape
    out: dict[str, object] = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for batch in args.batch:
        model = torch.nn.Linear(d, 1, dtype=X.dtype)
        torch.nn.init.zeros_(model.weight)
        torch.nn.init.zeros_(model.bias)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        loss_fn = torch.nn.MSELoss()
        times = []
        for _ in range(args.epochs):
            start = time.perf_counter()
            order = torch.randperm(n)
            for i in range(0, n, batch):
                rows = order[i : i + batch]
                optimizer.zero_grad()
                loss = loss_fn(model(X[rows]).squeeze(1), y[rows])
                loss.backward()
                optimizer.step()
            times.append(time.perf_counter() - start)
        with torch.no_grad():
            final = float(loss_fn(model(X).squeeze(1), y))
        out[str(batch)] = {"epoch_seconds": min(times), "final_loss": final}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
