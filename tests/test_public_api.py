"""The public surface of gdlab, pinned.

Users, the README and the docs rely on these names; everything else is private by name (a leading
underscore on the module or on a package that holds it). A change here is a change of the public
API: make it on purpose, with a note in the changelog of the release.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import gdlab

TOP_LEVEL = [
    "DivergenceError",
    "EpochRecord",
    "GDClassifier",
    "GDLabError",
    "GDRegressor",
    "History",
    "MLPClassifier",
    "MLPRegressor",
    "__version__",
    "compare_closed_form",
    "data",
    "least_squares",
    "load",
    "losses",
    "lr_find",
    "minimize",
    "optim",
    "playground",
    "schedules",
    "sweep",
    "testfunctions",
]

#: The public modules and packages directly under ``gdlab``; every other module there is private.
PUBLIC_MODULES = {
    "backends",
    "cli",
    "data",
    "divergence",
    "engine",
    "estimators",
    "exceptions",
    "history",
    "io",
    "lab",
    "losses",
    "nn",
    "objective",
    "optim",
    "playground",
    "schedules",
    "testfunctions",
    "viz",
}

#: ``__all__`` of the public modules whose names users import.
MODULE_ALL = {
    "gdlab.estimators": ["GDClassifier", "GDRegressor", "MLPClassifier", "MLPRegressor"],
    "gdlab.data": ["arrays", "csv", "parquet"],
}


def test_the_top_level_names_are_pinned():
    assert sorted(gdlab.__all__) == sorted(TOP_LEVEL)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_every_top_level_name_resolves(name):
    assert getattr(gdlab, name) is not None


def test_an_unknown_top_level_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'GDRegresor'"):
        gdlab.GDRegresor  # noqa: B018


def test_every_module_under_gdlab_is_public_on_purpose_or_private_by_name():
    found = {info.name for info in pkgutil.iter_modules(gdlab.__path__)}
    public = {name for name in found if not name.startswith("_")}
    assert public == PUBLIC_MODULES


@pytest.mark.parametrize("module, names", sorted(MODULE_ALL.items()))
def test_public_modules_export_what_they_say(module, names):
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(names)
    for name in names:
        assert getattr(imported, name) is not None
