"""The compiled sparse kernels (CSR) against the dense compiled kernels and the NumPy sparse path.

Every optimizer with every loss, every penalty and batch sizes 1, k and full, on small random
CSR matrices: coefficients, intercepts, epoch losses and gradient norms agree with the dense
compiled kernels to 1e-12, and with the NumPy path on the same CSR matrix to 1e-9 (the compiled
and NumPy paths sum in different orders; Adam's and RMSprop's normalised steps magnify that
rounding to about 1e-11 on these problems, on dense data as well).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from gdlab import GDClassifier, GDRegressor

pytest.importorskip("numba")
pytestmark = pytest.mark.xdist_group("numba-backend")

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "pid"]
PENALTIES = [None, "l2", "l1", "elasticnet"]
BATCHES = [1, 7, None]
REGRESSION_LOSSES = list(GDRegressor._losses)
CLASSIFICATION_LOSSES = list(GDClassifier._losses)


def _data(n=60, d=9, seed=0, density=0.3):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n, d)) * (rng.random((n, d)) < density)
    dense[:, 0] = 0.0  # an empty column
    dense[3] = 0.0  # an empty row
    return dense, rng.normal(size=d)


def _targets(loss, score, classes=2):
    if loss in CLASSIFICATION_LOSSES:
        if classes == 2:
            return GDClassifier, np.where(score > 0, "yes", "no")
        return GDClassifier, np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    y = np.exp(0.3 * score) if loss == "poisson" else score + 1.0
    return GDRegressor, y


def _settings(**changes):
    settings = dict(learning_rate=0.02, max_iter=4, tol=None, random_state=0, standardize=False)
    settings.update(changes)
    return settings


def _same(a, b, rtol=1e-12):
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=rtol, atol=1e-15)
    np.testing.assert_allclose(a.history_.grad_norm, b.history_.grad_norm, rtol=rtol, atol=1e-15)
    assert a.n_iter_ == b.n_iter_ and a.t_ == b.t_


def _three_ways(Model, dense, y, matrix=sp.csr_matrix, **settings):
    """The fit on CSR with the compiled kernels, checked against the fit on the dense array with
    the compiled kernels and the fit on CSR with the NumPy path; returns all three."""
    sparse = Model(backend="numba", **settings).fit(matrix(dense), y)
    assert sparse.history_.backend == "numba"
    dense_fit = Model(backend="numba", **settings).fit(dense, y)
    numpy_fit = Model(backend="numpy", **settings).fit(matrix(dense), y)
    _same(sparse, dense_fit)
    _same(sparse, numpy_fit, rtol=1e-9)
    return sparse, dense_fit, numpy_fit


# every optimizer with every loss; the penalties and batch sizes rotate through the pairs
CASES = [
    (optimizer, loss, PENALTIES[k % 4], BATCHES[k % 3])
    for k, (optimizer, loss) in enumerate(
        itertools.product(OPTIMIZERS, REGRESSION_LOSSES + CLASSIFICATION_LOSSES)
    )
]


@pytest.mark.parametrize(("optimizer", "loss", "penalty", "batch_size"), CASES)
def test_every_optimizer_and_loss(optimizer, loss, penalty, batch_size):
    dense, coef = _data()
    Model, y = _targets(loss, dense @ coef)
    settings = _settings(optimizer=optimizer, loss=loss, penalty=penalty, batch_size=batch_size)
    if loss == "poisson":
        settings["learning_rate"] = 0.002
    _three_ways(Model, dense, y, **settings)


# plain SGD (whose kernel path depends on the penalty and the batch size): every pair; the other
# optimizers (one kernel path each): every penalty, the batch sizes rotating through them
PENALTY_CASES = list(itertools.product(["sgd"], PENALTIES, BATCHES)) + [
    (optimizer, penalty, BATCHES[(k + m) % 3])
    for k, optimizer in enumerate(OPTIMIZERS[1:])
    for m, penalty in enumerate(PENALTIES)
]


@pytest.mark.parametrize(("optimizer", "penalty", "batch_size"), PENALTY_CASES)
def test_every_optimizer_penalty_and_batch_size(optimizer, penalty, batch_size):
    dense, coef = _data(seed=1)
    y = dense @ coef + 0.5
    settings = _settings(optimizer=optimizer, penalty=penalty, batch_size=batch_size, alpha=0.01)
    if penalty == "elasticnet":
        settings["l1_ratio"] = 0.5
    _three_ways(GDRegressor, dense, y, **settings)


@pytest.mark.parametrize(
    ("loss", "optimizer", "batch_size"),
    [
        (loss, OPTIMIZERS[k % len(OPTIMIZERS)], BATCHES[k % 3])
        for k, loss in enumerate(CLASSIFICATION_LOSSES * 2)
    ],
)
def test_multiclass(loss, optimizer, batch_size):
    """Three classes: softmax for log_loss, one-vs-rest outputs for the margin losses."""
    dense, coef = _data(n=75, seed=2)
    _, y = _targets(loss, dense @ coef, classes=3)
    penalty = PENALTIES[CLASSIFICATION_LOSSES.index(loss) % 4]
    settings = _settings(optimizer=optimizer, loss=loss, penalty=penalty, batch_size=batch_size)
    sparse, dense_fit, _ = _three_ways(GDClassifier, dense, y, **settings)
    assert sparse.coef_.shape == (3, dense.shape[1])
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(dense)) if loss == "log_loss" else 0.0,
        dense_fit.predict_proba(dense) if loss == "log_loss" else 0.0,
        rtol=1e-12,
    )


@pytest.mark.parametrize("batch_size", BATCHES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weights_clipping_schedule_float32_csc_and_no_shuffle(optimizer, batch_size):
    dense, coef = _data(n=50, seed=3)
    y = dense @ coef - 1.0
    weight = np.random.default_rng(3).random(50) * 2
    weight[:5] = 0.0  # rows of weight 0 contribute nothing
    for changes in (
        dict(clip_norm=0.5),
        dict(clip_norm=0.5, penalty="l2", alpha=0.05),
        dict(schedule="inverse_scaling", fit_intercept=False),
        dict(shuffle=False, penalty="l1"),
    ):
        settings = _settings(optimizer=optimizer, batch_size=batch_size, **changes)
        fits = [
            Model.fit(X, y, sample_weight=weight)
            for Model, X in (
                (GDRegressor(backend="numba", **settings), sp.csc_matrix(dense)),
                (GDRegressor(backend="numba", **settings), dense),
                (GDRegressor(backend="numpy", **settings), sp.csr_matrix(dense)),
            )
        ]
        assert fits[0].history_.backend == "numba"
        _same(fits[0], fits[1])
        _same(fits[0], fits[2], rtol=1e-9)
    X32 = sp.csr_matrix(dense.astype(np.float32))
    settings = _settings(optimizer=optimizer, batch_size=batch_size)
    a = GDRegressor(backend="numba", **settings).fit(X32, y)
    b = GDRegressor(backend="numba", **settings).fit(dense.astype(np.float32), y)
    assert a.coef_.dtype == np.float32
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-4, atol=1e-5)  # float32 rounding


def test_unsorted_indices_and_duplicates_are_summed():
    """A CSR matrix with duplicate entries means their sum, as in scipy's products."""
    dense, coef = _data(n=40, d=5, seed=4)
    coo = sp.coo_matrix(dense)
    half = coo.data / 2
    doubled = sp.csr_matrix(
        (np.r_[half, half], (np.r_[coo.row, coo.row], np.r_[coo.col, coo.col])), shape=dense.shape
    )
    X = sp.csr_matrix((doubled.data, doubled.indices, doubled.indptr), shape=dense.shape)
    y = dense @ coef
    settings = _settings(optimizer="sgd", batch_size=1)
    for matrix in (X, sp.csr_matrix(dense)[:, ::-1][:, ::-1]):
        a = GDRegressor(backend="numba", **settings).fit(matrix, y)
        b = GDRegressor(backend="numba", **settings).fit(dense, y)
        _same(a, b)


@pytest.mark.parametrize(
    ("batch_size", "rate"), [(1, 50.0), (4, 80.0)], ids=["per-sample", "mini-batch"]
)
def test_divergence_is_reported_as_on_dense(batch_size, rate):
    dense, coef = _data(n=40, d=5, seed=5)
    y = 100 * (dense @ coef)
    settings = _settings(optimizer="sgd", batch_size=batch_size, learning_rate=rate)
    errors = []
    for X in (sp.csr_matrix(dense), dense):
        with pytest.raises(Exception, match="diverge") as raised:
            GDRegressor(backend="numba", **settings).fit(X, y)
        errors.append(raised.value)
    assert errors[0].epoch == errors[1].epoch
    np.testing.assert_allclose(errors[0].losses, errors[1].losses, rtol=1e-12)


def test_defaults_compile_and_match_the_numpy_path():
    """``GDClassifier().fit(X_csr, y)`` with every default: the compiled sparse path is chosen,
    and the fit is the NumPy path's."""
    rng = np.random.default_rng(6)
    X = sp.random(3000, 40, density=0.05, format="csr", random_state=6)
    y = np.asarray(X @ rng.normal(size=40)).ravel() > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scaled without centring
        auto = GDClassifier(random_state=0).fit(X, y)
        reference = GDClassifier(random_state=0, backend="numpy").fit(X, y)
        regressor = GDRegressor(random_state=0).fit(X, X @ np.arange(40.0))
    assert auto.history_.backend == "numba" and regressor.history_.backend == "numba"
    _same(auto, reference, rtol=1e-10)
    assert auto.score(X, y) > 0.9
    assert regressor.score(X, X @ np.arange(40.0)) > 0.99


def test_partial_fit_takes_turns_with_the_numpy_path():
    dense, coef = _data(n=50, seed=7)
    y = dense @ coef
    a = GDRegressor(backend="numba", optimizer="adam", batch_size=4, random_state=0,
                    standardize=False)  # fmt: skip
    b = GDRegressor(backend="numba", optimizer="adam", batch_size=4, random_state=0,
                    standardize=False)  # fmt: skip
    for k in range(3):
        a.partial_fit(sp.csr_matrix(dense), y)
        b.set_params(backend="numpy" if k == 1 else "numba").partial_fit(dense, y)
    _same(a, b)


@pytest.mark.parametrize("optimizer", ["sgd", "pid", "momentum"])
def test_perceptron_mini_batches_dense_compiled_match_numpy(optimizer):
    """The perceptron's subgradient jumps at margin 0 (``-y`` there, 0 just above), and an
    all-zero row's margin is the intercept alone. Two opposite mini-batch steps bring the NumPy
    path's intercept back to exactly 0; the compiled update must round as NumPy does (no fused
    multiply-add, :mod:`gdlab.backends._rounding`), or it keeps a 1e-19 residue, takes another
    subgradient on that row and ends about 1e-3 away."""
    dense, coef = _data()
    y = np.where(dense @ coef > 0, "yes", "no")
    settings = _settings(loss="perceptron", optimizer=optimizer, batch_size=7, shuffle=False)
    two = dict(settings, max_iter=1)
    compiled = GDClassifier(backend="numba", **two).fit(dense[:14], y[:14])
    reference = GDClassifier(backend="numpy", **two).fit(dense[:14], y[:14])
    if optimizer != "momentum":
        assert reference.intercept_[0] == 0.0 and compiled.intercept_[0] == 0.0
    compiled = GDClassifier(backend="numba", **settings).fit(dense, y)
    reference = GDClassifier(backend="numpy", **settings).fit(dense, y)
    _same(compiled, reference, rtol=1e-12)
    _three_ways(GDClassifier, dense, y, **settings)


@pytest.mark.parametrize("loss", REGRESSION_LOSSES + CLASSIFICATION_LOSSES)
def test_plain_mini_batches_match_dense_and_the_clipped_path(loss):
    """Plain SGD mini-batches without penalty or clipping take the gradient of the rows with a
    non-zero slope straight into the coefficients. With sample weights (some 0), an intercept
    and duplicate columns across a batch's rows: the dense compiled fit to 1e-12, and bit for bit
    the fit with a clipping threshold never reached (the listing path, one kernel branch apart)."""
    dense, coef = _data(n=61, d=6, seed=8, density=0.6)
    Model, y = _targets(loss, dense @ coef)
    weight = np.random.default_rng(8).random(61) * 2
    weight[::9] = 0.0
    settings = _settings(optimizer="sgd", loss=loss, batch_size=5, learning_rate=0.05)
    if loss == "poisson":
        settings["learning_rate"] = 0.002
    fits = [
        Model(backend="numba", **settings, **extra).fit(X, y, sample_weight=weight)
        for X, extra in (
            (sp.csr_matrix(dense), {}),
            (dense, {}),
            (sp.csr_matrix(dense), {"clip_norm": 1e300}),
        )
    ]
    _same(fits[0], fits[1])
    _same(fits[0], fits[2], rtol=0.0)


@pytest.mark.parametrize("loss", REGRESSION_LOSSES + CLASSIFICATION_LOSSES)
def test_l2_per_sample_is_lazy_and_matches_dense(loss):
    """Plain SGD with an L2 penalty, one sample per update: the sparse kernel keeps the weights
    as a decaying scale times a vector (``O(nnz)`` per update); losses (penalty included),
    gradient norms and coefficients are the dense kernel's to 1e-12, with sample weights (some
    0), an intercept and a decaying schedule. A strong penalty makes the scale fall below
    ``SMALLEST_SCALE`` many times, so it is folded into the coefficients mid-epoch."""
    from gdlab.backends._sparse_row_kernels import SMALLEST_SCALE

    dense, coef = _data(n=61, d=6, seed=9, density=0.6)
    Model, y = _targets(loss, dense @ coef)
    weight = np.random.default_rng(9).random(61) * 2
    weight[::7] = 0.0
    rate = 0.002 if loss == "poisson" else 0.05
    for alpha, schedule in ((0.01, "inverse_scaling"), (0.4 / rate, "constant")):
        settings = _settings(
            optimizer="sgd", loss=loss, batch_size=1, penalty="l2", alpha=alpha,
            learning_rate=rate, schedule=schedule,
        )  # fmt: skip
        sparse = Model(backend="numba", **settings).fit(
            sp.csr_matrix(dense), y, sample_weight=weight
        )
        _same(sparse, Model(backend="numba", **settings).fit(dense, y, sample_weight=weight))
    assert (1 - 0.4) ** 61 < SMALLEST_SCALE  # (the strong penalty folds within an epoch)


@pytest.mark.parametrize(
    ("optimizer", "batch_size", "classes"), [("sgd", 1, 2), ("sgd", 5, 3), ("adam", 5, 2)]
)
def test_int64_indices_give_the_int32_numbers(optimizer, batch_size, classes):
    """scipy stores the column numbers and row bounds as int64 when a matrix outgrows int32; the
    kernels read both through unsigned positions, so the fit is the int32 matrix's bit for bit."""
    dense, coef = _data(n=60, seed=11)
    _, y = _targets("hinge", dense @ coef, classes=classes)
    small = sp.csr_matrix(dense)
    large = small.copy()
    large.indices, large.indptr = small.indices.astype(np.int64), small.indptr.astype(np.int64)
    settings = _settings(loss="hinge", optimizer=optimizer, batch_size=batch_size)
    fits = [GDClassifier(backend="numba", **settings).fit(X, y) for X in (small, large)]
    _same(fits[0], fits[1], rtol=0.0)


@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_vectorised_updates_are_the_dense_update_bit_for_bit(kind):
    """The sparse mini-batches' update of every coefficient (one vectorised loop that also clears
    the gradient buffer) against the dense kernels' ``_apply``, on random states, gradients
    (mostly zero, of every magnitude), hyperparameters, step counts (the first included), rates
    and plateau scales."""
    from gdlab.backends._sparse_updates import adam_update, sgd_update
    from gdlab.backends._update_kernels import ADAM, ADAMW, SGD, _apply

    code = {"adam": ADAM, "adamw": ADAMW}.get(kind, SGD)
    rng = np.random.default_rng(12)
    for trial in range(40):
        P = int(rng.integers(1, 2000))
        floats = np.zeros(16)
        if code == SGD:
            floats[8:10] = (0.0 if kind == "sgd" else rng.uniform(0.1, 0.99)), kind == "nesterov"
        else:
            floats[8:12] = (rng.uniform(0.5, 0.99), rng.uniform(0.9, 0.9999),
                            10.0 ** rng.uniform(-10, -4), rng.uniform(0, 0.1))  # fmt: skip
        grad = rng.normal(size=P) * (rng.random(P) < 0.3) * 10.0 ** rng.integers(-8, 3)
        theta, s1, s2 = rng.normal(size=P), rng.normal(size=P) * 1e-3, rng.random(P) * 1e-4
        count, rate = (0 if trial < 5 else int(rng.integers(1, 5000))), 10.0 ** rng.uniform(-5, 0)
        scale = float(rng.choice([1.0, 0.5, rng.random()]))
        mine = [grad.copy(), theta.copy(), s1.copy(), s2.copy()]
        if code == SGD:
            sgd_update(floats, count, rate, scale, *mine[:3])
        else:
            adam_update(code, floats, count, rate, scale, *mine)
        _apply(code, floats, count, rate, scale, grad, theta, s1, s2, s1[:0])
        for a, b in zip(mine[1:], (theta, s1, s2), strict=True):
            np.testing.assert_array_equal(a, b)
        assert not mine[0].any()  # the gradient buffer is cleared
