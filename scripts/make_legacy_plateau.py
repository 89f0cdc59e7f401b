"""Write tests/data/legacy_plateau/: checkpoints whose plateau rule's state is stored the old way.

Until the plateau rule became a block of the optimizer (:func:`gdlab.optim.plateau.with_plateau`),
a checkpoint kept its state in ``TrainState.plateau_state`` beside the optimizer state. This
script must run with the code of that time (commit 3c03804), for example::

    git archive 3c03804 src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src .venv/bin/python scripts/make_legacy_plateau.py

For each case it fits 10 epochs, saves a checkpoint (``<case>.npz``), then resumes the fit for 10
more epochs with ``warm_start=True`` and records the result in ``expected.json`` (floats as
``float.hex``): tests/test_legacy_plateau.py loads the checkpoints with today's code and checks
that they resume bit-identically.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import gdlab
from gdlab.io import save_checkpoint

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "legacy_plateau"

RNG = np.random.default_rng(11)
X = RNG.normal(size=(83, 4)) * [1.0, 3.0, 0.5, 2.0]
Y = X @ [1.0, -2.0, 0.5, 3.0] + 1.0 + 0.3 * RNG.normal(size=83)

BASE = {
    "optimizer": "sgd",
    "schedule": "adaptive",
    "learning_rate": 0.02,
    "batch_size": 10,
    "tol": 1e-2,
    "n_iter_no_change": 2,
    "random_state": 5,
    "max_iter": 10,
}
CASES = {
    "numpy": {**BASE, "backend": "numpy"},
    "numba": {**BASE, "backend": "numba"},
    "averaged": {**BASE, "backend": "numpy", "average": True},
    "adam": {**BASE, "optimizer": "adam", "backend": "numpy", "clip_norm": 5.0},
}


def _hex(values: object) -> list[str]:
    return [float(v).hex() for v in np.ravel(np.asarray(values, dtype=np.float64))]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, settings in CASES.items():
        model = gdlab.GDRegressor(**settings).fit(X, Y)
        assert model._train_state.plateau_state is not None
        save_checkpoint(model, OUT / f"{name}.npz", metadata={"case": name})
        model.set_params(warm_start=True)
        model.fit(X, Y)
        state = model._train_state
        expected[name] = {
            "coef": _hex(model.coef_),
            "intercept": _hex(model.intercept_),
            "loss": _hex(model.history_.loss),
            "learning_rate": _hex(model.history_.learning_rate),
            "plateau_state": _hex(state.plateau_state),
            "epoch": state.epoch,
            "step": state.step,
            "opt_state": repr(state.opt_state),
        }
        print(name, state.plateau_state, file=sys.stderr)
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
