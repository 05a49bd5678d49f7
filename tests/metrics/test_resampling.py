import numpy as np
import pytest

from skcovid.metrics import _resampling
from skcovid.metrics._resampling import bootstrap_weights, group_codes, percentile_interval


def test_iid_bootstrap_rows_sum_to_n_and_are_reproducible():
    codes = group_codes(None, 30)
    first = np.vstack(list(bootstrap_weights(codes, 50, 0)))
    second = np.vstack(list(bootstrap_weights(codes, 50, 0)))
    assert first.shape == (50, 30)
    np.testing.assert_array_equal(first.sum(axis=1), 30)
    np.testing.assert_array_equal(first, second)


def test_cluster_bootstrap_draws_whole_groups():
    groups = np.repeat(["p1", "p2", "p3", "p4"], [1, 2, 3, 4])
    codes = group_codes(groups, len(groups))
    weights = np.vstack(list(bootstrap_weights(codes, 200, 0)))
    for code in np.unique(codes):
        member_weights = weights[:, codes == code]
        assert np.all(member_weights == member_weights[:, :1])  # all rows of a patient together
    # four patients are drawn each time
    np.testing.assert_array_equal(weights[:, np.unique(codes, return_index=True)[1]].sum(axis=1), 4)


def test_chunks_cover_all_replicates(monkeypatch):
    monkeypatch.setattr(_resampling, "_CHUNK_ELEMENTS", 70)
    chunks = list(bootstrap_weights(np.arange(20), 11, 0))
    assert [len(c) for c in chunks] == [3, 3, 3, 2]


def test_group_codes_checks_length():
    with pytest.raises(ValueError, match="one group"):
        group_codes([1, 2], 3)


def test_percentile_interval_drops_nan():
    replicates = np.column_stack([np.arange(101.0), np.r_[np.arange(51.0), [np.nan] * 50]])
    low, high, n_valid = percentile_interval(replicates, 0.9)
    np.testing.assert_allclose(low, [5, 2.5])
    np.testing.assert_allclose(high, [95, 47.5])
    np.testing.assert_array_equal(n_valid, [101, 51])
    low, _, n_valid = percentile_interval(np.full((3, 1), np.nan), 0.9)
    assert np.isnan(low[0]) and n_valid[0] == 0
