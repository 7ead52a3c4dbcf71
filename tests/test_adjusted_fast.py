"""The lean implementation details of analysis.adjusted (issue 13's speed fix) agree with the plain forms."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import adjusted as adj


def test_level_order_is_value_counts_order_with_ties() -> None:
    """The reference level (most common, ties in order of first appearance) is pandas' value_counts order."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        values = rng.choice(["c", "a", "b", "d"], size=int(rng.integers(4, 30)))
        text = adj._text(pd.Series(values))
        _, order = adj._level_counts(text.codes, len(text.levels))
        assert [text.levels[k] for k in order] == pd.Series(values).value_counts().index.tolist()


def test_gram_in_row_blocks_equals_the_weighted_cross_product(monkeypatch) -> None:
    monkeypatch.setattr(adj, "_CHUNK", 7)  # several blocks, one of them short
    rng = np.random.default_rng(1)
    A, B, w = rng.normal(size=(50, 4)), rng.normal(size=(50, 3)), rng.random(50)
    w[::3] = 0.0
    np.testing.assert_allclose(adj._gram(A, w), (A * w[:, None]).T @ A, rtol=1e-12)
    np.testing.assert_allclose(adj._gram(A, w, B), (A * w[:, None]).T @ B, rtol=1e-12)


def test_wls_with_zero_weights_is_the_fit_on_the_weighted_rows() -> None:
    """Rows weighted 0 (and a NaN outcome there) are left out, as a fit on the copied rows would."""
    rng = np.random.default_rng(2)
    Z = np.column_stack([np.ones(40), rng.normal(size=(40, 2))])
    y, w = rng.normal(size=40), rng.random(40) + 0.1
    out = np.arange(40) % 4 == 0
    y_nan, w0 = np.where(out, np.nan, y), np.where(out, 0.0, w)
    np.testing.assert_allclose(adj._wls(Z, y_nan, w0), adj._wls(Z[~out], y[~out], w[~out]), rtol=1e-10)


def test_in_parallel_keeps_the_order_of_the_plain_loop() -> None:
    items = list(range(9))
    assert adj._in_parallel(lambda i: i * i, items) == [i * i for i in items]
