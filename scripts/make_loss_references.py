"""Print the reference values stored in tests/test_losses.py.

Run with a Python that has PyTorch and mpmath (not needed by the tests themselves)::

    python scripts/make_loss_references.py

Huber, binary and softmax cross-entropy come from ``torch.nn.HuberLoss``,
``torch.nn.BCEWithLogitsLoss`` and ``torch.nn.CrossEntropyLoss`` (mean reduction, float64);
the binary log loss for large margins from mpmath at 50 significant digits.
"""

import mpmath
import torch

torch.set_default_dtype(torch.float64)
mpmath.mp.dps = 50

HUBER_CASES = [
    (1.0, [0.0, 0.5, -2.0, 3.5], [0.2, -0.4, 1.0, 3.0]),
    (0.5, [1.0, -1.0, 2.0], [0.0, 0.0, 2.25]),
    (2.0, [10.0, -3.0, 0.1, 4.0, 0.0], [0.0, 0.0, 0.0, 5.5, -1.9]),
]
BCE_CASES = [([1.0, 0.0, 1.0, 0.0], [2.0, -3.0, -0.5, 40.0])]
CE_CASES = [([0, 2, 1], [[1.0, 2.0, 3.0], [500.0, -200.0, 100.0], [0.0, 0.0, 0.0]])]
MARGINS = [-1e4, -700.0, -40.0, -30.0, -5.0, 0.0, 5.0, 30.0, 40.0, 700.0, 1e4]


def main() -> None:
    for delta, z, y in HUBER_CASES:
        zt = torch.tensor(z, requires_grad=True)
        value = torch.nn.HuberLoss(delta=delta)(zt, torch.tensor(y))
        value.backward()
        print("huber", delta, repr(value.item()), [repr(g) for g in zt.grad.tolist()])
    for y, z in BCE_CASES:
        zt = torch.tensor(z, requires_grad=True)
        value = torch.nn.BCEWithLogitsLoss()(zt, torch.tensor(y))
        value.backward()
        print("bce", repr(value.item()), [repr(g) for g in zt.grad.tolist()])
    for y, z in CE_CASES:
        zt = torch.tensor(z, requires_grad=True)
        value = torch.nn.CrossEntropyLoss()(zt, torch.tensor(y))
        value.backward()
        print("ce", repr(value.item()), [[repr(g) for g in row] for row in zt.grad.tolist()])
    for y in (0, 1):
        for z in MARGINS:
            with mpmath.workdps(5000):  # enough digits to resolve 1 + e^-10000
                exact = mpmath.log(1 + mpmath.exp(mpmath.mpf(z))) - y * mpmath.mpf(z)
            print("logloss", y, z, repr(float(exact)))


if __name__ == "__main__":
    main()
