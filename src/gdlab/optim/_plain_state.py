"""Optimizer states as plain data (dicts, lists, numbers and arrays) and back, checked.

An optimizer state is a tree of tuples (a :func:`~gdlab.optim.chain`'s members) and named tuples
(each block's state: :class:`~gdlab.optim.transforms.AdamState`,
:class:`~gdlab.optim.plateau.PlateauState`...) with arrays and counters at its leaves. Its plain
form, what an estimator's ``state_dict()`` holds and a model file stores:

* a named tuple ``AdamState(count=3, mu=m, nu=v)`` is ``{"namedtuple": "AdamState", "fields":
  {"count": 3, "mu": m, "nu": v}}``;
* a tuple is a list of its members' plain forms;
* an array stays an array (not copied), a NumPy scalar becomes a 0-d array, a NumPy boolean a
  ``bool``; Python numbers, booleans and ``None`` stay as they are.

:func:`from_plain` never builds a structure from the data: the structure comes from a *template*,
the state the optimizer's ``init(params)`` gives, and the data must match it node for node (named
tuples by name and fields, tuples by length, arrays by shape and kind of dtype) before the values
are taken. A counter is taken as it was saved (a 0-d array gives back a NumPy scalar).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["from_plain", "to_plain"]


def to_plain(state: Any, where: str = "opt_state") -> Any:
    """The plain form of the optimizer state ``state`` (see the module's docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> tx = optim.adam(learning_rate=0.1)  # chain(scale_by_adam, scale_by_learning_rate)
    >>> state = tx.init(np.zeros(2))
    >>> state
    (AdamState(count=0, mu=array([0., 0.]), nu=array([0., 0.])), CountState(count=0))
    >>> plain = to_plain(state)
    >>> plain[1]
    {'namedtuple': 'CountState', 'fields': {'count': 0}}
    >>> repr(from_plain(plain, tx.init(np.zeros(2)))) == repr(state)
    True
    """
    if isinstance(state, tuple):
        if hasattr(state, "_fields"):
            return {
                "namedtuple": type(state).__name__,
                "fields": {
                    name: to_plain(value, f"{where}.{name}")
                    for name, value in zip(state._fields, state, strict=True)
                },
            }
        return [to_plain(child, f"{where}[{index}]") for index, child in enumerate(state)]
    if isinstance(state, np.ndarray):
        return state
    if isinstance(state, np.bool_):
        return bool(state)
    if isinstance(state, np.generic):
        return np.asarray(state)
    if state is None or isinstance(state, bool | int | float):
        return state
    raise TypeError(
        f"The optimizer state holds a {type(state).__name__} at {where}, which is not plain data "
        "(tuples, named tuples, arrays and numbers)."
    )


def from_plain(data: Any, template: Any, where: str = "opt_state") -> Any:
    """The optimizer state of structure ``template`` whose values are the plain ``data``.

    Raises
    ------
    ValueError
        When ``data`` does not have ``template``'s structure; the message names the entry.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlab import optim
    >>> template = optim.trace(decay=0.9).init(np.zeros(2))
    >>> from_plain({"namedtuple": "TraceState", "fields": {"count": 1, "trace": np.ones(2)}},
    ...            template)
    TraceState(count=1, trace=array([1., 1.]))
    >>> from_plain([], template)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: opt_state should be a TraceState (count, trace) for this optimizer; ...
    """
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        return _named(data, template, where)
    if isinstance(template, tuple):
        if not isinstance(data, list) or len(data) != len(template):
            raise ValueError(
                f"{where} does not have the structure of this optimizer's state: it should be "
                f"a list of {len(template)} entries, not {_describe(data)}."
            )
        children = zip(data, template, strict=True)
        return tuple(
            from_plain(item, sub, f"{where}[{index}]") for index, (item, sub) in enumerate(children)
        )
    if isinstance(template, np.ndarray):
        if not isinstance(data, np.ndarray):
            raise ValueError(f"{where} should be an array, not {_describe(data)}.")
        if data.shape != template.shape or data.dtype.kind != template.dtype.kind:
            raise ValueError(
                f"{where} has shape {data.shape} and dtype {data.dtype}, expected shape "
                f"{template.shape} and a dtype of kind {template.dtype.kind!r}."
            )
        return data
    if template is None:
        if data is not None:
            raise ValueError(f"{where} should be empty (None), not {_describe(data)}.")
        return None
    return _counter(data, where)


def _named(data: Any, template: Any, where: str) -> Any:
    name, names = type(template).__name__, tuple(template._fields)
    if (
        not isinstance(data, dict)
        or data.get("namedtuple") != name
        or not isinstance(data.get("fields"), dict)
        or set(data["fields"]) != set(names)
        or set(data) != {"namedtuple", "fields"}
    ):
        raise ValueError(
            f"{where} should be a {name} ({', '.join(names)}) for this optimizer; the saved "
            f"state has another structure ({_describe(data)})."
        )
    fields = data["fields"]
    values = [
        from_plain(fields[key], sub, f"{where}.{key}")
        for key, sub in zip(names, template, strict=True)
    ]
    return type(template)(*values)


def _counter(data: Any, where: str) -> Any:
    """A scalar leaf (a step count, a scale, a flag), taken as it was saved."""
    if data is None or isinstance(data, bool | int | float):
        if data is None:
            raise ValueError(f"{where} should be a number, not None.")
        return data
    if isinstance(data, np.ndarray) and data.shape == () and data.dtype.kind in "biuf":
        return data[()]
    raise ValueError(f"{where} should be a number, not {_describe(data)}.")


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        tag = data.get("namedtuple")
        return f"a {tag}" if isinstance(tag, str) else f"a dict with keys {sorted(map(str, data))}"
    if isinstance(data, list):
        return f"a list of {len(data)} entries" if data else "a list"
    if isinstance(data, np.ndarray):
        return f"an array of shape {data.shape}"
    return f"a {type(data).__name__}"
