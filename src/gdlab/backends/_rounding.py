# mypy: ignore-errors
# (Numba kernels: typed by Numba at compile time.)
"""The plain SGD update of one coefficient, rounded as the NumPy path rounds it.

The compiled kernels run with fast-math ``reassoc`` and ``contract``: in
``w + (step * g) * scale`` LLVM hoists ``step * scale`` out of the loop and fuses the multiply
and the add (one rounding instead of two). The NumPy path (``updates = -rate * grad``, times
``scale``, then ``params + updates``) rounds the product first. Usually the two differ by a last
bit, but at a kink of the loss that bit changes the gradient: the NumPy path brings an intercept
back to exactly 0 after two opposite mini-batch steps, the fused update leaves the rounding
error of the first step (about 1e-19); an all-zero row's margin is then the intercept alone, and
the perceptron's subgradient is ``-y`` at margin 0 but 0 just above it. So the two paths took
different steps (about 1e-3 on the coefficients after one epoch of mini-batches).

``llvm.arithmetic.fence`` forbids reassociating or fusing across it, whatever the fast-math flags;
it costs no instruction.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit
from numba.core import cgutils
from numba.extending import intrinsic

FASTMATH = {"reassoc", "contract"}


@intrinsic
def _fence(typingctx, value):
    """``value`` itself, as a barrier to fast-math rewrites (``llvm.arithmetic.fence``)."""

    def codegen(context, builder, sig, args):
        kind = context.get_value_type(sig.args[0])
        suffix = "f32" if kind == ir.FloatType() else "f64"
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(kind, [kind]), f"llvm.arithmetic.fence.{suffix}"
        )
        return builder.call(function, [args[0]])

    return value(value), codegen


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def sgd_coefficient(w, step, g, scale):
    """``w + (step * g) * scale`` with each product rounded before the next operation.

    Examples
    --------
    >>> g = 3 / 7
    >>> w = sgd_coefficient(0.0, -0.02, g, 1.0)
    >>> float(sgd_coefficient(w, -0.02, -g, 1.0))
    0.0
    """
    return w + _fence(_fence(step * g) * scale)
