# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time.)
"""Would a correctly rounded ``(x - mean) / scale`` without a divide make standardizing cheaper?

    python bench/fma_division.py            # checks, then timings (about a minute)
    python bench/fma_division.py --values 50_000_000 --precision 10

Standardizing on read (``gather_scaled``, ``scaled_dot_block``) divides every value by its
column's scale, rounded as NumPy rounds ``(X - mean) / scale``. The divisor of a column is known
before its values, so the division can be replaced by multiplications and fused multiply-adds
that give the same bits. Per divisor ``s``::

    yh = RN(1 / s);  yl = RN(-(s * yh - 1) / s)        (s * yh - 1 is exact: one FMA)

and per value ``d = x - mean``::

    q0 = RN(d * yh + RN(d * yl));  e = RN(d - q0 * s);  q = RN(q0 + e * yh)

By Markstein's theorem (P. Markstein, IBM J. Res. Dev. 34(1), 1990; Muller et al., Handbook of
Floating-Point Arithmetic, division with an FMA; Russinoff, Formal Verification of
Floating-Point Hardware Design, "FMA-Based Division", lemma markstein): if ``y`` is within half
an ulp of ``1/s`` (``yh`` is) and ``q0`` within one ulp of ``d/s``, with no underflow or
overflow, then ``e`` is exact and ``q = RN(d/s)``. The one-term ``q0 = RN(d * yh)`` is NOT always
within one ulp (this script's exhaustive check finds such pairs in every precision 3-10, up
to 1.23 ulps off at p = 5), which is why ``yl`` is there: with it ``q0`` is within half an
ulp plus ``2**-2p`` relative. The kernels below take that path for divisors and ``|d|`` in
``[2**-400, 2**400]`` (float32: ``[2**-40, 2**40]``), where every intermediate value is normal,
and divide otherwise.

What this script does, in order:

1. exhaustively, with exact rationals, in binary precisions 3 to ``--precision``, every pair of
   significands: whether the two-term sequence above returns ``RN(d/s)``, whether ``q0`` is
   within one ulp and ``e`` exact (Markstein's hypotheses), and the same for the one-term
   ``q0 = RN(d * yh)``;
2. the compiled kernels against NumPy's ``(X - mean) / scale`` bit for bit on ``--values``
   values per dtype (float64 and float32): random data, and adversarial divisors (significands
   ``1``, ``1 + ulp``, near and at ``2 - ulp``, powers of two, huge and tiny exponents) with
   ``d`` spread over every binade of the range, zeros, and values outside the range (which must
   take the division);
3. timings (CPU of one thread, fastest of 9, three rounds): division vs the FMA sequence in L1
   (1,024 values repeated) and in the final-loss pass of 200,000 x 100 float64
   (``scaled_dot_block`` vs the same kernel with the FMA row).

On the machine of 2026-12-01 (AMD EPYC, Zen 4, AVX-512) the FMA sequence is bitwise right and
SLOWER than the division (``bench/README.md``), so the library keeps its division.
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: |d| and divisors in [2**-LIMIT, 2**LIMIT] take the FMA path (float64, float32)
LIMIT64, LIMIT32 = 400, 40


@intrinsic
def fma(typingctx, x, y, z):
    """``x * y + z`` rounded once (``llvm.fma``), three floats of one type."""
    if not (isinstance(x, types.Float) and x == y == z):
        return None

    def codegen(context, builder, sig, args):
        kind = context.get_value_type(sig.return_type)
        name = "llvm.fma.f64" if sig.return_type == types.float64 else "llvm.fma.f32"
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(kind, [kind, kind, kind]), name
        )
        return builder.call(function, args)

    return x(x, y, z), codegen


@njit(nogil=True, error_model="numpy")
def _bounds(values):
    limit = LIMIT64 if values.itemsize == 8 else LIMIT32
    return 2.0 ** (-limit), 2.0**limit


@njit(nogil=True, error_model="numpy")
def reciprocals(scale):
    """``(yh, yl, fast)`` per divisor; ``fast``: every divisor in range."""
    one = scale.dtype.type(1)
    low, high = _bounds(scale)
    yh, yl = np.empty_like(scale), np.empty_like(scale)
    fast = True
    for k in range(scale.shape[0]):
        s = scale[k]
        if not (low <= s <= high):
            fast, s = False, one
        h = one / s
        yh[k] = h
        yl[k] = -fma(s, h, -one) / s
    return yh, yl, fast


@njit(nogil=True, error_model="numpy")
def fma_row(X, i, mean, scale, yh, yl, fast, out, r):
    """``out[r] = (X[i] - mean) / scale`` by the FMA sequence where the row is in range, else by
    division. No fastmath: every operation rounds as written."""
    if fast:
        low, high = _bounds(scale)
        ok = True
        for k in range(X.shape[1]):
            d = X[i, k] - mean[k]
            q0 = fma(d, yh[k], d * yl[k])
            q = fma(fma(-q0, scale[k], d), yh[k], q0)
            out[r, k] = d if d == 0 else q  # -0.0 / s is -0.0
            size = abs(d)
            ok &= (size <= high) & ((size >= low) | (d == 0))
        if ok:
            return
    for k in range(X.shape[1]):
        out[r, k] = (X[i, k] - mean[k]) / scale[k]


@njit(nogil=True, error_model="numpy")
def standardize_fma(X, mean, scale, out):
    yh, yl, fast = reciprocals(scale)
    for i in range(X.shape[0]):
        fma_row(X, i, mean, scale, yh, yl, fast, out, i)


#: the fastmath flags of gdlab.backends._scan_kernels (the final-loss dot)
FASTMATH = {"nsz", "arcp", "contract", "reassoc"}


@njit(nogil=True, error_model="numpy", fastmath=FASTMATH)
def scaled_dot_fma(X, mean, scale, weights, out, start, stop):
    """``scaled_dot_block`` with the FMA row: the same dot loop over a standardized row."""
    d = X.shape[1]
    yh, yl, fast = reciprocals(scale)
    row = np.empty((1, d), dtype=X.dtype)
    for i in range(start, stop):
        fma_row(X, i, mean, scale, yh, yl, fast, row, 0)
        total = 0.0
        for j in range(d):
            total += np.float64(row[0, j]) * weights[j]
        out[i] = total
    return True


@njit(nogil=True, error_model="numpy")
def _l1_division(x, mean, s, yh, yl, out, reps):
    for _ in range(reps):
        for k in range(x.shape[0]):
            out[k] = (x[k] - mean[k]) / s[k]


@njit(nogil=True, error_model="numpy")
def _l1_fma(x, mean, s, yh, yl, out, reps):
    for _ in range(reps):
        for k in range(x.shape[0]):
            d = x[k] - mean[k]
            q0 = fma(d, yh[k], d * yl[k])
            out[k] = fma(fma(-q0, s[k], d), yh[k], q0)


# -- 1. the maths, exhaustively in small precisions ------------------------------------------


def _rn(x: Fraction, p: int) -> Fraction:
    """``x`` rounded to nearest, ties to even, to ``p`` significant bits (unbounded exponent)."""
    if x == 0:
        return Fraction(0)
    sign, x = (-1 if x < 0 else 1), abs(x)
    k = x.numerator.bit_length() - x.denominator.bit_length()
    k -= Fraction(2) ** k > x
    unit = Fraction(2) ** (k - p + 1)
    whole, rest = divmod(x / unit, 1)
    whole += rest > Fraction(1, 2) or (rest == Fraction(1, 2) and whole % 2 == 1)
    return sign * whole * unit


def _ulp(x: Fraction, p: int) -> Fraction:
    k = abs(x).numerator.bit_length() - abs(x).denominator.bit_length()
    k -= Fraction(2) ** k > abs(x)
    return Fraction(2) ** (k - p + 1)


def check_precision(p: int) -> dict[str, int]:
    """Every pair of ``p``-bit significands ``d, s`` in ``[1, 2)``: counts of failures of the
    two-term and the one-term sequences and of Markstein's hypotheses."""
    counts = dict.fromkeys(
        ("pairs", "wrong", "q0_far", "e_inexact", "one_term_wrong", "one_term_q0_far"), 0
    )
    low, high = 2 ** (p - 1), 2**p
    for S in range(low, high):
        s = Fraction(S, low)
        yh = _rn(1 / s, p)
        beta = s * yh - 1
        assert _rn(beta, p) == beta  # the FMA's s * yh - 1 is exact
        yl = _rn(-beta / s, p)
        for D in range(low, high):
            d = Fraction(D, low)
            exact = _rn(d / s, p)
            unit = _ulp(d / s, p)
            counts["pairs"] += 1
            two_terms, one_term = _rn(d * yh + _rn(d * yl, p), p), _rn(d * yh, p)
            for q0, prefix in ((two_terms, ""), (one_term, "one_term_")):
                e = _rn(d - q0 * s, p)
                if not prefix:
                    counts["e_inexact"] += e != d - q0 * s
                counts[prefix + "q0_far"] += abs(q0 - d / s) > unit
                counts[prefix + "wrong"] += _rn(q0 + e * yh, p) != exact
    return counts


# -- 2. the kernels against NumPy's division --------------------------------------------------


def _adversarial_scales(dtype, count: int, rng, in_range: bool) -> np.ndarray:
    """Divisors with significands 1, 1 + ulp, 1.5, 2 - 2 ulp, 2 - ulp, ... and random ones, over
    the exponents of the FMA path's range (``in_range``) or beyond it."""
    limit = LIMIT64 if dtype == np.float64 else LIMIT32
    one, two, eps = dtype(1), dtype(2), np.finfo(dtype).eps
    below_two = np.nextafter(two, one)
    significands = np.array(
        [one, np.nextafter(one, two), dtype(1.5), np.nextafter(below_two, one), below_two,
         one + dtype(3 * eps)],
        dtype=dtype,
    )  # fmt: skip
    picked = np.concatenate([significands, rng.uniform(1, 2, count).astype(dtype)])
    low, high = (-limit, limit) if in_range else (-limit - 8, limit + 8)
    return np.ldexp(picked, rng.integers(low, high, picked.shape[0])).astype(dtype)


def _on_fma_path(X, mean, scale) -> int:
    """How many values of ``X`` :func:`standardize_fma` computes without dividing."""
    limit = LIMIT64 if X.dtype == np.float64 else LIMIT32
    low, high = 2.0**-limit, 2.0**limit
    if not np.all((scale >= low) & (scale <= high)):
        return 0
    with np.errstate(all="ignore"):
        size = np.abs(X - mean)  # d as the kernel computes it
    rows = np.all((size <= high) & ((size >= low) | (size == 0)), axis=1)
    return int(rows.sum()) * X.shape[1]


def check_kernels(dtype, values: int, rng) -> tuple[int, int, int]:
    """(values compared, of them on the FMA path, values different) of :func:`standardize_fma`
    against NumPy's division."""
    compared = fast = different = 0
    d = 64
    rows = max(1, values // (2 * d))
    # random data, as a fit sees it
    X = rng.standard_normal((rows, d)) * rng.uniform(0.01, 100, d) + rng.uniform(-50, 50, d)
    X = X.astype(dtype)
    mean, scale = X.mean(axis=0).astype(dtype), X.std(axis=0).astype(dtype)
    cases = [(X, mean, scale), _adversarial(dtype, rows, d, rng, True)]
    cases.append(_adversarial(dtype, max(1, rows // 8), d, rng, False))
    for X_, mean_, scale_ in cases:
        with np.errstate(all="ignore"):
            expected = ((X_ - mean_) / scale_).astype(dtype, copy=False)
        got = np.empty_like(X_)
        standardize_fma(X_, mean_, scale_, got)
        compared += got.size
        fast += _on_fma_path(X_, mean_, scale_)
        unsigned = f"u{got.itemsize}"
        different += int(np.count_nonzero(expected.view(unsigned) != got.view(unsigned)))
    return compared, fast, different


def _adversarial(dtype, rows: int, d: int, rng, in_range: bool):
    """Adversarial divisors (:func:`_adversarial_scales`) and values ``d = x`` (mean 0) with
    significands near 1 and near 2 over every binade of the range, a few beyond it (tiny, huge:
    those rows must take the division), and zeros of both signs."""
    scale = _adversarial_scales(dtype, d - 6, rng, in_range)
    limit = LIMIT64 if dtype == np.float64 else LIMIT32
    near_two = rng.random((rows, d)) < 0.3
    significands = np.where(near_two, 2 - rng.random((rows, d)) * 1e-6, 1 + rng.random((rows, d)))
    exponents = rng.integers(-limit, limit, (rows, d))
    beyond = rng.random((rows, d)) < 0.002
    exponents[beyond] = rng.choice([-limit - 30, limit + 30], int(beyond.sum()))
    X = np.ldexp(significands * rng.choice([-1.0, 1.0], (rows, d)), exponents).astype(dtype)
    X[rng.random((rows, d)) < 0.01] = 0.0
    X[rng.random((rows, d)) < 0.01] = -0.0
    return X, np.zeros(d, dtype=dtype), scale


# -- 3. timings --------------------------------------------------------------------------------


def _least(fn, repeat: int = 9) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best


def timings(rng) -> None:
    from gdlab.backends._scan_kernels import dot_block, scaled_dot_block

    n = 1024
    for dtype in (np.float64, np.float32):
        x, mean, s = (rng.uniform(1, 2, n).astype(dtype) for _ in range(3))
        yh, yl, _ = reciprocals(s)
        out, reps = np.empty(n, dtype), 20_000
        for kernel in (_l1_division, _l1_fma):
            kernel(x, mean, s, yh, yl, out, 1)
        arguments = (x, mean, s, yh, yl, out, reps)
        for round_ in range(3):
            row = [
                f"{name} {_least(lambda k=k, a=arguments: k(*a)) / (n * reps) * 1e9:.3f}"
                for name, k in (("division", _l1_division), ("fma", _l1_fma))
            ]
            where = f"L1, {np.dtype(dtype).name}, ns per value, round {round_ + 1}"
            print(f"  {where}: " + ", ".join(row))
    X = rng.standard_normal((200_000, 100)) * rng.uniform(0.1, 100, 100) + rng.uniform(-5, 5, 100)
    mean, scale, w = X.mean(axis=0), X.std(axis=0), np.linspace(-1, 1, 100)
    n, a, b = X.shape[0], np.empty(X.shape[0]), np.empty(X.shape[0])
    scaled_dot_block(X, mean, scale, w, a, 0, n)
    scaled_dot_fma(X, mean, scale, w, b, 0, n)
    print(f"  final loss 200,000 x 100: FMA == division bit for bit: {np.array_equal(a, b)}")
    for round_ in range(3):
        parts = {
            "X.sum()": _least(X.sum),
            "dot_block": _least(lambda: dot_block(X, w, a, 0, n)),
            "scaled_dot_block (division)": _least(
                lambda: scaled_dot_block(X, mean, scale, w, a, 0, n)
            ),
            "scaled_dot_fma": _least(lambda: scaled_dot_fma(X, mean, scale, w, b, 0, n)),
        }
        print(
            f"  final loss, CPU of one thread, round {round_ + 1}: "
            + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in parts.items())
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=20_000_000, help="values per dtype (check 2)")
    parser.add_argument("--precision", type=int, default=9, help="largest precision of check 1")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("1. exhaustive, exact rationals (every pair of significands)")
    for p in range(3, args.precision + 1):
        print(f"  p = {p}: {check_precision(p)}", flush=True)
    print("2. compiled FMA sequence vs NumPy's (X - mean) / scale, bit for bit")
    for dtype in (np.float64, np.float32):
        compared, fast, different = check_kernels(dtype, args.values, rng)
        print(
            f"  {np.dtype(dtype).name}: {compared:,} values ({fast:,} on the FMA path), "
            f"{different} different",
            flush=True,
        )
    print("3. timings")
    timings(rng)


if __name__ == "__main__":
    main()
