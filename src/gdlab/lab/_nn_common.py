"""Data and drawing shared by the lab's neural-network chapters."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]

__all__ = ["boundary_grid", "draw_boundary", "moons"]


def moons(seed: int, n: int = 400, noise: float = 0.15) -> tuple[Array, NDArray[np.int_]]:
    """Two interleaved half circles (scikit-learn's ``make_moons``), standardized."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def boundary_grid(X: Array, steps: int = 150) -> tuple[Array, Array, Array]:
    """A grid over ``X``'s range (with a margin): ``(xx, yy, points)``."""
    low, high = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], steps), np.linspace(low[1], high[1], steps))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def draw_boundary(
    ax: Any, X: Array, y: Any, grid: tuple[Array, Array, Array], proba: Array, title: str
) -> None:
    """Class-1 probability as filled contours, the 0.5 boundary as a line, the points on top."""
    xx, yy, _ = grid
    surface = proba.reshape(xx.shape)
    ax.contourf(xx, yy, surface, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
    ax.contour(xx, yy, surface, levels=[0.5], colors="black", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="white", linewidths=0.4, s=14)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
