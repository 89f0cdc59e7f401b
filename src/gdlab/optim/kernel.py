"""The compiled-kernel description of a transformation: small declarative data, no code.

The compiled back-end (:mod:`gdlab.backends.plan`) runs a few optimizers in one loop each, their
state in three arrays ``s1, s2, s3``. What it needs to know is declared here, beside the
algorithms rather than reverse-engineered from them:

- each building block of :mod:`gdlab.optim.transforms` carries a :class:`Block` (its kind, its
  hyperparameters and the NamedTuple of its state), and :func:`~gdlab.optim.base.chain` carries the
  tuple of its members' descriptions, nested as its state is (``None`` when a member has none);
- each named optimizer of :mod:`gdlab.optim.named` declares, next to its chain, the
  :class:`KernelForm` that the kernels run it as: the kinds of its blocks, where the kernel's
  hyperparameters come from, and which array of the kernel holds each field of the state.

A chain built by hand from the same blocks therefore compiles exactly like the named optimizer.

Examples
--------
>>> from gdlab import optim
>>> [block.kind for block in blocks(optim.adam(0.1).kernel)]
['scale_by_adam', 'scale_by_learning_rate']
>>> blocks(optim.chain(optim.scale_by_adam(), optim.scale_by_learning_rate(0.1)).kernel)[0].hyper
{'b1': 0.9, 'b2': 0.999, 'eps': 1e-08}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = ["Block", "Kernel", "KernelForm", "blocks"]


@dataclass(frozen=True)
class Block:
    """A building block as the kernels see it.

    Parameters
    ----------
    kind : str
        The block's function name (``"scale_by_adam"``).
    hyper : mapping
        Its hyperparameters by name.
    state : type
        The NamedTuple of its state (``AdamState``).
    """

    kind: str
    hyper: Mapping[str, Any]
    state: type


#: a block, or the members of a chain (nested as the chain's state is)
Kernel: TypeAlias = "Block | tuple[Kernel, ...]"


def blocks(kernel: Kernel) -> list[Block]:
    """The blocks of a description in the order they are applied (nested chains flattened)."""
    if isinstance(kernel, Block):
        return [kernel]
    return [block for member in kernel for block in blocks(member)]


@dataclass(frozen=True)
class KernelForm:
    """A named optimizer as the compiled kernels run it.

    Parameters
    ----------
    name : str
        The named optimizer (``"rmsprop"``).
    code : int
        Its number in the kernels.
    blocks : tuple of str
        The kinds of the blocks of its chain, in order (a leading ``clip_by_global_norm`` is the
        kernels' clipping and is not listed).
    hyper : tuple
        The kernel's hyperparameters in order: ``(block index, hyperparameter name)`` to read one
        from a block, or a number for a constant.
    slots : tuple
        ``(block index, state field, kernel array)``: the state field kept in ``s1`` (0), ``s2``
        (1) or ``s3`` (2). Every array field of every block's state is listed.
    """

    name: str
    code: int
    blocks: tuple[str, ...]
    hyper: tuple[tuple[int, str] | float, ...]
    slots: tuple[tuple[int, str, int], ...] = field(default=())
