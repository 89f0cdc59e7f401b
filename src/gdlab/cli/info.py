"""``gdlab info``: versions and the speed back-ends this machine has."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys

import click

from gdlab.cli._errors import EXIT_CODES_EPILOG, verbose_option
from gdlab.cli._output import console

#: (import name, distribution name, what gdlab uses it for)
PACKAGES = (
    ("numpy", "numpy", "arrays (required)"),
    ("scipy", "scipy", "closed form, results (required)"),
    ("sklearn", "scikit-learn", "estimator API (required)"),
    ("numba", "numba", "compiled epochs (speed back-end)"),
    ("torch", "torch", "not used by gdlab; only for comparisons"),
    ("matplotlib", "matplotlib", "figures"),
    ("pandas", "pandas", "CSV and Parquet files"),
    ("pyarrow", "pyarrow", "Parquet files"),
    ("click", "click", "command line"),
    ("rich", "rich", "tables in the terminal"),
)


def package_version(module: str, distribution: str) -> str | None:
    """The installed version, found without importing the package; None when it is missing."""
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "installed (version unknown)"


def speed_backends() -> list[tuple[str, bool, str]]:
    """(back-end, available, note) for every engine implementation gdlab knows."""
    numba = package_version("numba", "numba")
    return [
        ("numpy", True, "reference implementation, always available"),
        (
            "numba",
            numba is not None,
            f"compiled epochs (numba {numba})" if numba else "pip install 'gdlab[speed]'",
        ),
    ]


@click.command(epilog=EXIT_CODES_EPILOG, short_help="Versions and available speed back-ends.")
@verbose_option
def info() -> None:
    """Show gdlab's version, the packages it finds and the speed back-ends available.

    Nothing heavy is imported: versions are read from the installed package metadata.

    \b
    Example:
      gdlab info
    """
    from rich.table import Table

    import gdlab

    out = console()
    out.print(
        f"gdlab {gdlab.__version__} on Python {platform.python_version()} "
        f"({platform.system()} {platform.machine()}, {os.cpu_count()} CPUs)"
    )
    out.print(f"Python executable: {sys.executable}")
    packages = Table(title="Packages")
    packages.add_column("package")
    packages.add_column("version")
    packages.add_column("used for")
    for module, distribution, use in PACKAGES:
        version = package_version(module, distribution)
        packages.add_row(distribution, version or "[dim]not installed[/dim]", use)
    out.print(packages)
    backends = Table(title="Speed back-ends (backend='auto' picks the fastest available)")
    backends.add_column("back-end")
    backends.add_column("available")
    backends.add_column("note")
    for name, available, note in speed_backends():
        backends.add_row(name, "[green]yes[/green]" if available else "[red]no[/red]", note)
    out.print(backends)
