"""No module outside ``gdlab/estimators/`` reaches into private attributes (issue #9, point 2).

The estimators own their state: other modules (the sweep, the command line, the lab, io...) go
through their public doors (``prepare_run``, ``optimizer_for``, ``validate_params``,
``adopt_run``, ``state_dict``, the fitted attributes). An ``ast`` walk over ``src/gdlab`` finds
every read or write of a private attribute (one leading underscore, not a dunder) on anything but
the method's own object: ``model._x``, ``model._x = ...``, ``getattr(model, "_x")``,
``setattr``/``hasattr``/``delattr`` alike. The few legitimate cases are listed below, each with
its reason; the allow-list is checked for entries that no longer occur, so it cannot rot.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

import pytest

import gdlab

SRC = Path(gdlab.__file__).parent

#: The package whose own modules may touch the estimators' private attributes.
OWNER = "estimators"

#: Private names that are a public API of their type: NamedTuple's (a trained state, optimizer
#: states and plans are NamedTuples).
NAMEDTUPLE_API = frozenset({"_fields", "_replace", "_asdict", "_make", "_field_defaults"})

#: (module relative to src/gdlab, the access as written): none is an estimator.
ALLOWED = {
    # OneCycle is defined in this module: its own phases while it is built
    ("_cyclic_schedules.py", "made._phases"),
    # _BlockSums, defined beside BlockObjective in this module, copies its penalty-free objective
    ("data/objective.py", "objective._no_penalty"),
    # a block's LinearObjective (gdlab._objectives) gets the mean weight of all the rows
    ("data/objective.py", "part._mean_weight"),
    # the compiled network epochs read the layer slices of an nn architecture
    ("backends/network_epochs.py", "arch._slices"),
}


class Access(NamedTuple):
    """One private attribute touched on another object: where, and as written."""

    line: int
    text: str
    attribute: str


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module_names(tree: ast.AST) -> set[str]:
    """Names bound by ``import x`` / ``import x as y`` anywhere in the module (modules)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
    return names


class _Finder(ast.NodeVisitor):
    """Collects the private accesses; ``own`` are the names bound to the method's own object
    (``self``/``cls``, the first parameter of a function defined in a class body), which nested
    functions and lambdas inherit."""

    def __init__(self, modules: set[str]) -> None:
        self.modules = modules
        self.own: frozenset[str] = frozenset()
        self.in_class = False
        self.found: list[Access] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        saved, self.in_class = self.in_class, True
        self.generic_visit(node)
        self.in_class = saved

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        saved_own, saved_class = self.own, self.in_class
        static = any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
        )
        arguments = [*node.args.posonlyargs, *node.args.args]
        if self.in_class and not static and arguments:
            self.own = self.own | {arguments[0].arg}
        self.in_class = False  # a class body's functions only; nested ones inherit ``own``
        self.generic_visit(node)
        self.own, self.in_class = saved_own, saved_class

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def _foreign(self, base: ast.expr) -> bool:
        if isinstance(base, ast.Name):
            return base.id not in self.own and base.id not in self.modules
        return not (isinstance(base, ast.Call) and ast.unparse(base.func) == "super")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_private(node.attr) and self._foreign(node.value):
            text = f"{ast.unparse(node.value)}.{node.attr}"
            self.found.append(Access(node.lineno, text, node.attr))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _is_private(node.args[1].value)
            and self._foreign(node.args[0])
        ):
            name = node.args[1].value
            text = f"{func.id}({ast.unparse(node.args[0])}, {name!r})"
            self.found.append(Access(node.lineno, text, name))
        self.generic_visit(node)


def private_accesses(source: str) -> list[Access]:
    """Every private attribute that ``source`` reads or writes on another object."""
    tree = ast.parse(source)
    finder = _Finder(_module_names(tree))
    finder.visit(tree)
    return [access for access in finder.found if access.attribute not in NAMEDTUPLE_API]


def violations(module: str, source: str) -> list[str]:
    """The accesses of ``module`` (a path relative to src/gdlab) that are not allowed."""
    return [
        f"{module}:{access.line}: {access.text}"
        for access in private_accesses(source)
        if (module, access.text) not in ALLOWED
    ]


def _modules() -> list[tuple[str, str]]:
    """(path relative to src/gdlab, source) of every module outside the estimators."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] != OWNER:
            found.append((relative.as_posix(), path.read_text(encoding="utf-8")))
    return found


def test_no_module_outside_the_estimators_reads_or_writes_private_attributes():
    modules = _modules()
    assert len(modules) > 100  # the walk sees the package (cli/, lab/, io/, data/, ...)
    found = [line for module, source in modules for line in violations(module, source)]
    assert found == [], "use the estimators' public doors instead:\n" + "\n".join(found)


def test_every_allowed_access_still_occurs():
    present = {
        (module, access.text)
        for module, source in _modules()
        for access in private_accesses(source)
    }
    assert sorted(ALLOWED - present) == []


# The lines this guard exists for: the batched sweep, the progress display and the command layer
# read these before the estimators had public doors for them.
OLD_LINES = [
    "def batched_sweep(models):\n    for model in models:\n"
    "        check_params(model, model._losses)\n",
    "runs = [tx for tx in (model._optimizer(objective.n_samples) for model in models)]\n",
    "def __call__(self, snapshot):\n    epoch = int(snapshot._train_state.epoch)\n",
    "def make(task):\n    cls = GDClassifier if task else GDRegressor\n    return cls._losses\n",
    "classifier = hasattr(linear, '_encode_targets') and not linear._y_numeric\n",
    "seed = getattr(model, '_seed', None)\n",
    "setattr(model, '_train_state', state)\n",
    "model._train_state = state\n",
    "del model._x_mean\n",
    "lambda model: model._target_scaling()\n",
]


@pytest.mark.parametrize("source", OLD_LINES)
def test_a_private_access_from_outside_is_caught(source):
    assert private_accesses(source)
    assert violations("_batched_sweep.py", source)


def test_the_old_batched_sweep_fails_the_guard():
    module = "_batched_sweep.py"
    source = (SRC / module).read_text(encoding="utf-8")
    assert violations(module, source) == []
    old = source.replace("model.optimizer_for(", "model._optimizer(").replace(
        "model.validate_params()", "check_params(model, model._losses)"
    )
    found = [line.split(": ", 1)[1] for line in violations(module, old)]
    assert found == ["model._losses", "model._optimizer"]


ALLOWED_FORMS = """
import numpy as np
import gdlab.backends as backends


class Model:
    _losses = ("squared_error",)

    def fit(self, X):
        self._seed = 0
        self._helper()

        def on_epoch(state):  # a closure: self is still the method's own object
            return self._seed + state._replace(epoch=1).epoch

        return sorted(self._losses, key=lambda name: self._seed)

    @classmethod
    def make(cls):
        return cls._losses

    def copy(self):
        return super()._copy()


def kernel(state):
    fields = state._fields if hasattr(state, "_fields") else state._asdict()
    return fields, backends._private_table, np.__name__, type(state).__qualname__
"""


def test_own_objects_modules_namedtuples_and_dunders_are_not_caught():
    assert private_accesses(ALLOWED_FORMS) == []


def test_a_static_method_has_no_own_object():
    source = "class A:\n    @staticmethod\n    def f(model):\n        return model._seed\n"
    assert [access.text for access in private_accesses(source)] == ["model._seed"]
