from numbers import Integral, Real

import numpy as np
import pytest

from skcovid.utils._param_validation import (
    BOOLEAN,
    RANDOM_STATE,
    Interval,
    Options,
    check_param,
    validate_params,
)


def test_interval_bounds_and_types():
    closed = Interval(Real, 0, 1)
    assert closed.accepts(0) and closed.accepts(1.0) and not closed.accepts(1.5)
    open_ = Interval(Real, 0, 1, closed="neither")
    assert not open_.accepts(0) and not open_.accepts(1) and open_.accepts(0.5)
    assert not Interval(Integral, 1, None).accepts(2.0)
    assert not Interval(Real, None, None).accepts(True)
    assert str(open_) == "a float in the range (0, 1)"


def test_options_do_not_confuse_bools_and_numbers():
    options = Options("auto", True, np.nan)
    assert options.accepts("auto") and options.accepts(True) and options.accepts(np.nan)
    assert not options.accepts(1) and not options.accepts("Auto") and not options.accepts(np.ones(2))


def test_messages_name_function_parameter_and_value():
    with pytest.raises(ValueError, match=r"The 'x' parameter of f must be a bool or None\. Got 3"):
        check_param("f", "x", 3, [BOOLEAN, None])
    assert check_param("f", "seed", np.random.RandomState(0), [RANDOM_STATE]) is None


def test_decorator_checks_defaults_and_keywords():
    @validate_params({"ci": [Interval(Real, 0, 1, closed="neither")]})
    def f(y, *, ci=0.95):
        return ci

    assert f(1) == 0.95
    with pytest.raises(ValueError, match="'ci' parameter of .*f must be"):
        f(1, ci=95)
    with pytest.raises(TypeError, match="no parameters"):
        validate_params({"missing": [None]})(lambda y: y)


def test_estimator_constraints_and_names():
    from numbers import Integral

    from sklearn.base import BaseEstimator

    from skcovid.utils._param_validation import StrOptions, check_estimator_params

    class Toy(BaseEstimator):
        _parameter_constraints = {
            "n": [Interval(Integral, 1, None, closed="left")],
            "mode": [StrOptions({"a", "b"})],
            "flag": ["boolean"],
            "seed": ["random_state"],
            "shape": [tuple, None],
        }

        def __init__(self, n=1, mode="a", flag=False, seed=None, shape=None):
            self.n, self.mode, self.flag, self.seed, self.shape = n, mode, flag, seed, shape

    check_estimator_params(Toy(n=3, mode="b", flag=True, seed=0, shape=(2, 2)))
    for bad, match in [
        ({"n": 0}, "'n' parameter of Toy"),
        ({"mode": "c"}, "one of 'a', 'b'"),
        ({"flag": "yes"}, "a bool"),
        ({"seed": "x"}, "RandomState"),
        ({"shape": [2]}, "a tuple"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_estimator_params(Toy(**bad))
