"""MLPRegressor and MLPClassifier: defaults, fitted attributes, diagnostics, resume, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_moons

from gdlab import losses
from gdlab.estimators._mlp import MLPClassifier, MLPRegressor
from gdlab.exceptions import DivergenceError
from gdlab.nn import Architecture, NetworkObjective

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def moons():
    return make_moons(n_samples=200, noise=0.1, random_state=0)


def test_defaults_learn_the_moons(moons):
    X, y = moons
    model = MLPClassifier(random_state=0).fit(X, y)
    assert model.score(X, y) > 0.85
    assert [w.shape for w in model.coefs_] == [(2, 100), (100, 1)]
    assert [b.shape for b in model.intercepts_] == [(100,), (1,)]
    assert model.n_layers_ == 3 and model.n_outputs_ == 1
    assert len(model.loss_curve_) == model.n_iter_
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_regressor_defaults_fit_a_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    y = X[:, 0] ** 2 + X[:, 1]
    model = MLPRegressor(random_state=0, max_iter=500, learning_rate=0.01).fit(X, y)
    assert model.score(X, y) > 0.95
    assert model.predict(X).shape == (300,)
    two = MLPRegressor((8,), max_iter=5, random_state=0).fit(X, np.column_stack([y, -y]))
    assert two.predict(X).shape == (300, 2)


def test_multiclass_probabilities_sum_to_one():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 3))
    y = np.array(["a", "b", "c"])[np.digitize(X[:, 0], [-0.4, 0.4])]
    model = MLPClassifier((10,), "tanh", max_iter=50, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X)) <= {"a", "b", "c"}
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba)


def test_history_layers_match_the_gradient_of_the_first_update():
    """Full batch, one epoch: the recorded per-layer gradient norm is the norm of that layer's
    block of the objective's gradient at the start; the weight norms are those of coefs_."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    model = MLPClassifier((5, 4), "sigmoid", batch_size=None, max_iter=1, tol=None, random_state=0)
    coefs = [rng.normal(size=s) for s in [(3, 5), (5, 4), (4, 1)]]
    intercepts = [np.zeros(5), np.zeros(4), np.zeros(1)]
    model.fit(X, y, coefs_init=coefs, intercepts_init=intercepts)
    arch = Architecture(3, (5, 4), 1, "sigmoid")
    theta = arch.pack(coefs, intercepts, np.zeros(arch.n_params))
    objective = NetworkObjective(X, y.astype(float), losses.log_loss, arch, alpha=1e-4)
    _, grad = objective.loss_and_grad(theta)
    expected = [float(np.linalg.norm(grad[s])) for s in arch.layer_slices()]
    layers = model.history_.layers
    np.testing.assert_allclose(layers["grad_norm"][0], expected, rtol=1e-12)
    np.testing.assert_allclose(
        layers["weight_norm"][0], [np.linalg.norm(w) for w in model.coefs_], rtol=1e-12
    )
    change = [
        np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(model.coefs_, coefs, strict=True)
    ]
    np.testing.assert_allclose(layers["update_ratio"][0], change, rtol=1e-10)
    first = 1 / (1 + np.exp(-(X @ coefs[0])))
    assert layers["activation_mean"][0][0] == pytest.approx(first.mean(), rel=1e-12)
    assert layers["activation_std"][0][0] == pytest.approx(first.std(), rel=1e-10)
    saturated = np.mean((first < 0.01) | (first > 0.99))
    assert layers["saturated"][0][0] == pytest.approx(saturated)


def test_dead_relu_units_are_counted():
    X = np.abs(np.random.default_rng(3).normal(size=(30, 2)))
    coefs = [np.array([[1.0, -1.0, 1.0], [1.0, -1.0, 1.0]]), np.ones((3, 1))]
    model = MLPRegressor((3,), optimizer="sgd", learning_rate=1e-6, max_iter=1, tol=None)
    model.fit(X, X.sum(axis=1), coefs_init=coefs, intercepts_init=[np.zeros(3), np.zeros(1)])
    assert model.history_.layers["saturated"][0] == [pytest.approx(1 / 3)]


@pytest.mark.parametrize("batch_norm, dropout", [(False, 0.0), (True, 0.2)])
def test_ten_plus_ten_epochs_equal_twenty(moons, batch_norm, dropout):
    X, y = moons
    settings = dict(
        hidden_layer_sizes=(8, 8),
        batch_norm=batch_norm,
        dropout=dropout,
        batch_size=32,
        tol=None,
        random_state=5,
        learning_rate=0.01,
    )
    once = MLPClassifier(max_iter=20, **settings).fit(X, y)
    twice = MLPClassifier(max_iter=10, warm_start=True, **settings).fit(X, y)
    twice.fit(X, y)
    for a, b in zip(once.coefs_ + once.intercepts_, twice.coefs_ + twice.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(once._train_state.params, twice._train_state.params)
    assert once.history_.loss == twice.history_.loss
    assert once.history_.layers == twice.history_.layers
    np.testing.assert_array_equal(once.predict_proba(X), twice.predict_proba(X))


def test_standardize_reports_weights_in_the_units_of_X(moons):
    X, y = moons
    X = X * [1000.0, 0.01] + [5.0, -3.0]
    model = MLPClassifier((6,), standardize=True, max_iter=20, random_state=0).fit(X, y)
    # coefs_ in the units of X: the first layer's pre-activations equal the standardized ones
    scaled = (X - model._x_mean) / model._x_scale
    theta = model._train_state.params
    w_s, b_s = theta[:12].reshape(2, 6), theta[12:18]
    np.testing.assert_allclose(
        X @ model.coefs_[0] + model.intercepts_[0], scaled @ w_s + b_s, rtol=1e-9, atol=1e-9
    )
    # and coefs_init in the units of X is taken back exactly
    again = MLPClassifier(
        (6,), standardize=True, max_iter=1, tol=None, random_state=0, learning_rate=1e-12
    )
    again.fit(X, y, coefs_init=model.coefs_, intercepts_init=model.intercepts_)
    np.testing.assert_allclose(again.coefs_[0], model.coefs_[0], rtol=1e-6)


def test_batch_norm_predicts_with_running_statistics(moons):
    X, y = moons
    model = MLPClassifier(
        (8,), batch_norm=True, learning_rate=0.02, batch_size=32, max_iter=30, random_state=0
    ).fit(X, y)
    one_row = model.predict_proba(X[:1])
    np.testing.assert_allclose(one_row, model.predict_proba(X)[:1])  # no batch statistics
    assert model.score(X, y) > 0.8


def test_dropout_is_off_at_prediction(moons):
    X, y = moons
    model = MLPClassifier((16,), dropout=0.5, max_iter=20, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X))


def test_exploding_network_names_clipping():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(64, 4))
    y = X.sum(axis=1)
    deep = dict(
        hidden_layer_sizes=(32,) * 6,
        init="normal",
        init_scale=1.0,
        optimizer="sgd",
        learning_rate=0.01,
        batch_size=16,
        tol=None,
        max_iter=30,
        random_state=0,
    )
    with pytest.raises(DivergenceError, match="clip"):
        MLPRegressor(**deep).fit(X, y)
    model = MLPRegressor(**deep, clip_norm=1.0).fit(X, y)
    assert np.isfinite(model.loss_curve_[-1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_layer_sizes": (4, 0)}, "'hidden_layer_sizes' parameter of MLPClassifier"),
        ({"activation": "softplus"}, "'activation' parameter of MLPClassifier"),
        ({"init": "lecun"}, "'init' parameter"),
        ({"dropout": 1.0}, "'dropout' parameter of MLPClassifier must be a float in the range"),
        ({"batch_norm": "yes"}, "'batch_norm' parameter"),
        ({"learning_rate": -1}, "'learning_rate' parameter of MLPClassifier must be a float > 0"),
        ({"init_scale": 0}, "'init_scale' parameter"),
    ],
)
def test_bad_parameters_are_named(moons, params, match):
    X, y = moons
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X, y)


def test_bad_initial_weights_are_named(moons):
    X, y = moons
    with pytest.raises(ValueError, match="coefs_init must be 2 arrays of shapes"):
        MLPClassifier((3,)).fit(X, y, coefs_init=[np.ones((2, 3))])
    with pytest.raises(ValueError, match="intercepts_init must be"):
        MLPClassifier((3,)).fit(X, y, intercepts_init=[np.ones(2), np.ones(1)])


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_saved_network_predicts_and_resumes_exactly(tmp_path, moons, kind):
    import gdlab

    X, y = moons
    if kind == "classifier":
        y = np.array(["left", "right"])[y]
        model = MLPClassifier(
            (6, 5),
            batch_norm=True,
            dropout=0.1,
            standardize=True,
            max_iter=5,
            tol=None,
            warm_start=True,
            random_state=0,
        )
    else:
        y = X[:, 0] * 2.0 - X[:, 1]
        model = MLPRegressor((6,), "tanh", max_iter=5, tol=None, warm_start=True, random_state=0)
    model.fit(X, y)
    path = model.save(tmp_path / "net.npz")
    with np.load(path, allow_pickle=False) as archive:  # plain arrays, no pickle
        assert "gdlab_header" in archive.files
    loaded = gdlab.load(path)
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.history_.layers == model.history_.layers
    model.fit(X, y)
    loaded.fit(X, y)
    np.testing.assert_array_equal(loaded._train_state.params, model._train_state.params)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_an_unfitted_network_is_not_saved_and_a_fitted_one_keeps_its_params(tmp_path):
    from sklearn.exceptions import NotFittedError

    import gdlab

    model = MLPClassifier((3, 2), activation="tanh", dropout=0.25, max_iter=2, random_state=0)
    with pytest.raises(NotFittedError):
        model.save(tmp_path / "plain.npz")
    assert not (tmp_path / "plain.npz").exists()
    X = np.random.default_rng(0).normal(size=(20, 3))
    model.fit(X, (X[:, 0] > 0).astype(int))
    loaded = gdlab.load(model.save(tmp_path / "plain.npz"))
    assert loaded.get_params() == model.get_params()
    assert loaded.hidden_layer_sizes == (3, 2)


def test_small_networks_train_on_one_blas_thread():
    from contextlib import nullcontext

    from threadpoolctl import threadpool_info

    from gdlab.estimators._mlp_base import _blas_threads

    small = Architecture(64, (100,), 10)
    with _blas_threads(small, 200, 1797):
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    large = Architecture(4096, (4096,), 10)
    assert isinstance(_blas_threads(large, 1024, 10_000), nullcontext)


def test_softmax_value_and_gradient_in_one_pass_match_the_separate_ones():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(20, 4)) * 30  # large logits: the shift by the row maximum matters
    y = np.eye(4)[rng.integers(0, 4, 20)]
    weight = rng.uniform(0.1, 2.0, 20)
    for w in (None, weight):
        value, grad = losses.softmax_cross_entropy.value_and_gradient(y, z, w)
        assert value == pytest.approx(losses.softmax_cross_entropy.value(y, z, w), rel=1e-14)
        np.testing.assert_allclose(
            grad, losses.softmax_cross_entropy.gradient(y, z, w), rtol=1e-13, atol=1e-16
        )


def test_early_stopping_monitors_a_held_out_share_in_evaluation_mode(moons, capsys):
    X, y = moons
    model = MLPClassifier(
        (8,),
        batch_norm=True,
        dropout=0.2,
        early_stopping=True,
        validation_fraction=0.2,
        learning_rate=0.01,
        batch_size=32,
        max_iter=300,
        verbose=1,
        random_state=0,
    )
    model.fit(X, y)
    val = model.history_.val_loss
    assert len(val) == model.n_iter_ and all(v is not None for v in val)
    assert "validation loss" in model.history_.stop_reason  # stopped by patience, not max_iter
    assert model.n_iter_ < 300
    assert "val_loss=" in capsys.readouterr().out


def test_early_stopping_keeps_the_best_validation_epoch(moons):
    from sklearn.model_selection import train_test_split

    X, y = moons
    model = MLPClassifier(
        (8,),
        early_stopping=True,
        learning_rate=0.01,
        batch_size=32,
        alpha=0.0,
        max_iter=300,
        random_state=0,
    ).fit(X, y)
    _, val = train_test_split(np.arange(200), test_size=20, random_state=model._seed, stratify=y)
    proba = model.predict_proba(X[val])[np.arange(20), y[val]]
    assert -np.mean(np.log(proba)) == pytest.approx(min(model.history_.val_loss), rel=1e-12)


def test_schedules_and_optimizers_come_from_the_shared_vocabulary(moons):
    X, y = moons
    for optimizer in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"):
        model = MLPClassifier(
            (4,),
            optimizer=optimizer,
            learning_rate=0.01,
            max_iter=3,
            tol=None,
            schedule="cosine",
            random_state=0,
        )
        assert len(model.fit(X, y).loss_curve_) == 3
        assert model.history_.learning_rate[0] == pytest.approx(0.01)
