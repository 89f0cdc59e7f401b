"""The lab's neural-network chapters (11-14): their numbers, tables and figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdlab import losses
from gdlab.lab import exploding_gradients as exploding
from gdlab.lab import nonlinear, symmetry
from gdlab.lab import vanishing_gradients as vanishing
from gdlab.nn import Architecture, NetworkObjective


@pytest.fixture(scope="module")
def chapters():
    modules = {
        "nonlinear": nonlinear,
        "vanishing": vanishing,
        "exploding": exploding,
        "symmetry": symmetry,
    }
    return {name: m.run(seed=42, fast=True) for name, m in modules.items()}


def test_a_network_separates_the_moons_a_line_cannot(chapters):
    n = chapters["nonlinear"].numbers
    assert n["linear_accuracy"] < 0.9
    assert n["network_accuracy"] > 0.97
    assert n["network_final_loss"] < n["network_first_loss"] / 5


def test_vanishing_gradients_and_their_cures(chapters):
    n = chapters["vanishing"].numbers
    assert n["sigmoid_ratio"] < 1e-4  # orders of magnitude between the first and last layer
    assert n["relu_ratio"] > 1e-2 and n["batchnorm_ratio"] > 1e-2
    assert n["sigmoid_accuracy"] <= 0.6  # did not learn in the budget
    assert n["relu_accuracy"] > 0.9 and n["batchnorm_accuracy"] > 0.85


def test_sigmoid_gradient_shrinks_by_at_most_a_quarter_per_layer_times_the_weights():
    """An oracle for the vanishing ratio: backpropagating through one sigmoid layer multiplies the
    gradient by diag(sigma') W^T, with sigma' <= 1/4, so |delta_l| <= |delta_{l+1}| |W| / 4."""
    from sklearn.datasets import make_moons

    X, y = make_moons(100, noise=0.1, random_state=0)
    arch = Architecture(2, (32,) * 10, 1, "sigmoid")
    theta = arch.initial_params("xavier_uniform", np.random.default_rng(0))
    objective = NetworkObjective(X, y.astype(float), losses.log_loss, arch)
    _, grad = objective.loss_and_grad(theta)
    # the bias gradient of a layer is the sum of its deltas: compare consecutive hidden layers
    bias = [float(np.linalg.norm(g)) for g in arch.biases(grad)]
    weights = arch.weights(theta)
    for layer in range(1, 10):
        bound = bias[layer] * np.linalg.norm(weights[layer], 2) / 4
        assert bias[layer - 1] <= bound * (1 + 1e-12)


def test_exploding_gradients_diverge_without_clipping_and_train_with_it(chapters):
    e = chapters["exploding"]
    n = e.numbers
    assert n["message_names_clipping"] == 1.0
    assert n["diverged_epoch"] <= 2
    last = e.data["diverged"][-1]
    assert not math.isfinite(last) or last > 1e100
    assert n["clipped_r2"] > 0.6
    assert n["clipped_final_loss"] < n["start_loss"] / 10
    assert n["first_gradient_norm"] > 10  # far above the clipping threshold of 1
    assert "DIVERGED" in e.tables[0].rows[0][2]


def test_zero_initialization_keeps_hidden_units_identical(chapters):
    n = chapters["symmetry"].numbers
    assert n["zero_spread"] == 0.0 and n["zero_distinct_units"] == 1
    assert n["random_distinct_units"] == symmetry.UNITS and n["random_spread"] > 1
    assert n["random_accuracy"] > n["zero_accuracy"] + 0.05


def test_unit_spread():
    coefs = [np.ones((2, 3)), np.ones((3, 1))]
    assert symmetry.unit_spread(coefs, [np.zeros(3), np.zeros(1)]) == 0.0
    coefs[1][2, 0] = 3.0
    assert symmetry.unit_spread(coefs, [np.zeros(3), np.zeros(1)]) == 2.0


@pytest.mark.parametrize("name", ["nonlinear", "vanishing", "exploding", "symmetry"])
def test_each_chapter_has_words_a_table_and_a_figure(chapters, name):
    e = chapters[name]
    assert e.explanation and all(len(p) > 40 for p in e.explanation)
    assert e.tables and all(t.rows for t in e.tables)
    figure = e.draw(e)
    width, height = figure.get_size_inches() * 100
    assert width >= 800 and height >= 450
    assert len(figure.axes) >= 2
