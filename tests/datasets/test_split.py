import numpy as np
import pytest

from skcovid.datasets import make_synthetic_scans, train_test_split_by_patient


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_patient_on_both_sides(seed):
    bunch = make_synthetic_scans(80, image_size=16, random_state=seed)
    X_tr, X_te, y_tr, y_te = train_test_split_by_patient(
        bunch.data, bunch.target, test_size=0.25, random_state=seed
    )
    assert not set(X_tr["patient"]) & set(X_te["patient"])
    assert len(X_tr) + len(X_te) == 80
    assert 0.1 < len(X_te) / 80 < 0.4
    assert set(y_te) == {"COVID", "Non_COVID"}  # stratified where possible
    assert (X_tr.index == y_tr.index).all()


def test_repeatable_and_groups_array():
    bunch = make_synthetic_scans(40, image_size=16, random_state=0)
    a = train_test_split_by_patient(bunch.data, bunch.target, random_state=5)
    b = train_test_split_by_patient(bunch.data, bunch.target, random_state=5)
    assert a[1].index.equals(b[1].index)
    X = np.arange(40)
    X_tr, X_te, _, _ = train_test_split_by_patient(
        X, bunch.target.to_numpy(), groups=bunch.data["patient"].to_numpy()
    )
    assert len(X_tr) + len(X_te) == 40


def test_errors():
    bunch = make_synthetic_scans(10, image_size=16, random_state=0)
    with pytest.raises(ValueError, match="no 'subject' column"):
        train_test_split_by_patient(bunch.data, bunch.target, groups="subject")
    with pytest.raises(ValueError, match="at least 2 patients"):
        train_test_split_by_patient(bunch.data, bunch.target, groups=np.zeros(10))
