"""The paper's six columns against scipy and hand-computed values, including ties and constant predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from aesthetic.benchmark.metrics import compute_metrics, emd, emd_loss, emd_per_image, mean_scores


def one_hot(score: int, n: int = 10) -> np.ndarray:
    row = np.zeros(n)
    row[score - 1] = 1.0
    return row


def test_mean_scores_are_weighted_bin_values() -> None:
    dist = np.array([one_hot(3), 0.5 * one_hot(2) + 0.5 * one_hot(8)])
    assert mean_scores(dist) == pytest.approx([3.0, 5.0])


def test_emd_by_hand() -> None:
    # N = 4; p all at score 1, q all at score 3: |CDF diff| = [1, 1, 0, 0].
    p, q = one_hot(1, 4)[None], one_hot(3, 4)[None]
    assert emd(p, q, r=1) == pytest.approx([0.5])                 # (1 + 1) / 4
    assert emd(p, q, r=2) == pytest.approx([math.sqrt(0.5)])      # sqrt((1 + 1) / 4)
    assert emd(p, p, r=1) == pytest.approx([0.0])


def test_torch_loss_matches_numpy_and_has_finite_gradients_at_zero() -> None:
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(10), size=5), rng.dirichlet(np.ones(10), size=5)
    assert emd_per_image(torch.tensor(p), torch.tensor(q), r=2).numpy() == pytest.approx(emd(p, q, r=2), rel=1e-5)
    assert emd_loss(torch.tensor(p), torch.tensor(q)).item() == pytest.approx(emd(p, q, r=2).mean(), rel=1e-5)
    same = torch.tensor(p, requires_grad=True)
    emd_loss(same, torch.tensor(p)).backward()
    assert torch.isfinite(same.grad).all()


def test_metrics_match_scipy_and_hand_values() -> None:
    true = np.array([one_hot(s) for s in (2, 4, 6, 8, 9)])
    pred = np.array([one_hot(s) for s in (3, 4, 7, 6, 9)])
    m = compute_metrics(pred, true, threshold=5)
    pm, tm = mean_scores(pred), mean_scores(true)
    # labels high: [F, F, T, T, T]; predicted: [F, F, T, T, T] -> all right
    assert m.accuracy == 1.0
    assert m.srcc == pytest.approx(stats.spearmanr(pm, tm)[0])
    assert m.plcc == pytest.approx(stats.pearsonr(pm, tm)[0])
    assert m.mae == pytest.approx((1 + 0 + 1 + 2 + 0) / 5)
    assert m.rmse == pytest.approx(math.sqrt((1 + 0 + 1 + 4 + 0) / 5))
    assert m.emd == pytest.approx(np.mean(emd(pred, true)))
    assert m.n_images == 5 and m.notes == []


def test_ties_are_ranked_like_scipy() -> None:
    true = np.array([one_hot(s) for s in (2, 3, 3, 7, 8)])
    pred = np.array([one_hot(s) for s in (4, 4, 4, 6, 6)])
    m = compute_metrics(pred, true, threshold=5)
    assert m.srcc == pytest.approx(stats.spearmanr(mean_scores(pred), mean_scores(true))[0])
    assert not math.isnan(m.srcc)


def test_constant_predictions_give_none_with_a_note_not_nan() -> None:
    true = np.array([one_hot(s) for s in (2, 4, 6, 8)])
    pred = np.tile(one_hot(6), (4, 1))
    m = compute_metrics(pred, true, threshold=5)
    assert m.srcc is None and m.plcc is None
    assert any("SRCC" in n and "same" in n for n in m.notes)
    assert m.accuracy == 0.5                  # everything predicted high; two of four are
    assert m.mae == pytest.approx((4 + 2 + 0 + 2) / 4)


def test_given_labels_override_the_threshold_rule() -> None:
    true = np.array([one_hot(5), one_hot(6)])
    pred = np.array([one_hot(6), one_hot(6)])
    assert compute_metrics(pred, true, threshold=5).accuracy == 0.5
    assert compute_metrics(pred, true, threshold=5, true_labels=np.array([True, True])).accuracy == 1.0
