"""The top-level package: lazy public names, and a light import."""

import subprocess
import sys

import gdlab


def test_public_functions_are_not_shadowed_by_their_modules():
    import gdlab._lr_finder
    import gdlab._minimizer
    import gdlab._sweeps

    assert callable(gdlab.minimize) and gdlab.minimize is gdlab._minimizer.minimize
    assert gdlab.sweep is gdlab._sweeps.sweep and gdlab.lr_find is gdlab._lr_finder.lr_find


def test_every_public_name_resolves():
    for name in gdlab.__all__:
        assert getattr(gdlab, name) is not None, name


def test_import_gdlab_loads_no_heavy_dependency():
    code = (
        "import sys, gdlab; heavy = [m for m in ('sklearn', 'scipy', 'matplotlib', 'numba', "
        "'pandas', 'rich', 'click', 'torch') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
