"""The estimator classes that model files may name, filled by the estimator modules.

A model file names its estimator's class; :func:`lookup` gives the class registered under that
name. The estimator modules register their classes when they are imported (``@register``), so
this package never imports them; a name not registered yet that the public package ``gdlab``
exports (``"GDRegressor"``...) is imported through it, which registers it. Anything else is
unknown: a file can never make gdlab import or build an arbitrary class.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TypeVar

__all__ = ["known", "lookup", "register"]

T = TypeVar("T", bound=type)

#: name -> class; written only by :func:`register`, read through :func:`lookup` and :func:`known`
_CLASSES: dict[str, type] = {}


def register(cls: T) -> T:
    """Let model files name ``cls`` (by its class name); use as a class decorator.

    Examples
    --------
    >>> import gdlab
    >>> from gdlab.io import register
    >>> register(gdlab.GDRegressor) is gdlab.GDRegressor
    True
    """
    name = cls.__name__
    previous = _CLASSES.get(name)
    if previous is not None and previous is not cls:
        raise ValueError(
            f"Another estimator class named {name!r} is already registered for model files "
            f"({previous.__module__}.{name}); model files name classes, so names must be unique."
        )
    _CLASSES[name] = cls
    return cls


def lookup(name: str) -> type | None:
    """The class registered as ``name``, importing gdlab's own on first use; ``None`` if unknown."""
    if name not in _CLASSES:
        import gdlab

        if name in gdlab.__all__ and name[:1].isupper():
            getattr(gdlab, name)  # imports the estimator's module, whose @register runs
    return _CLASSES.get(name)


def known() -> MappingProxyType[str, type]:
    """The registered classes by name (gdlab's own estimators imported first), read-only."""
    import gdlab

    for name in gdlab.__all__:
        if name.startswith(("GD", "MLP")):
            lookup(name)
    return MappingProxyType(_CLASSES)
