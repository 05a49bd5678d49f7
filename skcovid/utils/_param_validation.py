"""Declarative parameter validation for skcovid's functions and estimators.

A function lists, for each parameter it wants checked, the values it accepts::

    @validate_params({"ci": [Interval(Real, 0, 1, closed="neither"), None]})
    def f(y, *, ci=0.95): ...

and an estimator lists them in ``_parameter_constraints`` and calls
``check_estimator_params(self)`` in ``fit``. Anything else raises a ``ValueError`` that
names the function or estimator, the parameter, what it accepts and what it received.

Constraints are ``None``, a type (``isinstance``), a callable-free constraint object
(:class:`Interval`, :class:`StrOptions`, :class:`Options`) or one of the strings
``"boolean"``, ``"random_state"``, ``"verbose"``, ``"array-like"``, ``"callable"``
(or the built-in ``callable``).

This is skcovid's own small version of scikit-learn's private ``_param_validation``
module, so that nothing here imports private scikit-learn helpers.
"""

import functools
import inspect
import numbers

import numpy as np


class Interval:
    """Numbers of type ``kind`` between ``left`` and ``right`` (``None`` = unbounded).

    Parameters
    ----------
    kind : type
        ``numbers.Integral`` or ``numbers.Real``.
    left, right : float or None
        Bounds; ``None`` leaves that side open to infinity.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds belong to the interval.
    """

    def __init__(self, kind, left, right, *, closed="both"):
        self.kind = kind
        self.left = left
        self.right = right
        self.closed = closed

    def accepts(self, value):
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if self.left is not None:
            low_ok = value >= self.left if self.closed in ("both", "left") else value > self.left
            if not low_ok:
                return False
        if self.right is not None:
            closed_right = self.closed in ("both", "right")
            return value <= self.right if closed_right else value < self.right
        return True

    def __str__(self):
        kind = "an int" if self.kind is numbers.Integral else "a float"
        lbr = "[" if self.closed in ("both", "left") else "("
        rbr = "]" if self.closed in ("both", "right") else ")"
        left = "-inf" if self.left is None else self.left
        right = "inf" if self.right is None else self.right
        return f"{kind} in the range {lbr}{left}, {right}{rbr}"


class Options:
    """One of a fixed set of values (compared with ``==``, booleans only to booleans)."""

    def __init__(self, *values):
        self.values = values

    def accepts(self, value):
        if not isinstance(value, (str, bool, numbers.Number, type(None))):
            return False
        return any(
            isinstance(value, bool) == isinstance(option, bool)
            and (value == option or _both_nan(value, option))
            for option in self.values
        )

    def __str__(self):
        return "one of " + ", ".join(repr(v) for v in self.values)


def _both_nan(a, b):
    return isinstance(a, float) and isinstance(b, float) and a != a and b != b


class _TypeConstraint:
    def __init__(self, kind, description):
        self.kind = kind
        self.description = description

    def accepts(self, value):
        return isinstance(value, self.kind) and not (
            isinstance(value, bool) and bool not in _as_tuple(self.kind)
        )

    def __str__(self):
        return self.description


class _CallableConstraint:
    def accepts(self, value):
        return callable(value)

    def __str__(self):
        return "a callable"


def _as_tuple(kind):
    return kind if isinstance(kind, tuple) else (kind,)


#: Accepts ``None``, an int or a ``numpy.random.RandomState`` instance.
RANDOM_STATE = _TypeConstraint(
    (numbers.Integral, np.random.RandomState), "an int, a numpy RandomState or None"
)
#: Accepts ``True`` or ``False`` (and numpy booleans).
BOOLEAN = _TypeConstraint((bool, np.bool_), "a bool")
#: Accepts any string.
STRING = _TypeConstraint(str, "a str")
#: Accepts any callable.
CALLABLE = _CallableConstraint()


class StrOptions(Options):
    """One of a fixed set of strings."""

    def __init__(self, options):
        super().__init__(*sorted(options))

    def accepts(self, value):
        return isinstance(value, str) and value in self.values


class _ArrayLike:
    def accepts(self, value):
        if isinstance(value, (str, bytes, dict)):
            return False
        return hasattr(value, "__len__") or hasattr(value, "shape") or hasattr(value, "__array__")

    def __str__(self):
        return "an array-like"


#: Accepts array-likes (sequences, arrays, DataFrames).
ARRAY_LIKE = _ArrayLike()

_NAMED = {
    "boolean": BOOLEAN,
    "random_state": None,  # set below: also accepts None
    "array-like": ARRAY_LIKE,
    "callable": CALLABLE,
}


def _make(constraint):
    if isinstance(constraint, str):
        if constraint == "random_state":
            return [None, RANDOM_STATE]
        if constraint == "verbose":
            return [BOOLEAN, Interval(numbers.Integral, 0, None)]
        if constraint not in _NAMED:
            raise TypeError(f"Unknown constraint name {constraint!r}")
        return [_NAMED[constraint]]
    if constraint is callable:
        return [CALLABLE]
    if isinstance(constraint, type):
        return [_TypeConstraint(constraint, f"a {constraint.__name__}")]
    return [constraint]


def _expand(constraints):
    return [made for constraint in constraints for made in _make(constraint)]


def _describe(constraints):
    parts = ["None" if c is None else str(c) for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def check_param(func_name, name, value, constraints):
    """Raise a helpful error unless ``value`` satisfies one of ``constraints``.

    ``constraints`` is a list whose items are ``None`` (accepts ``None``) or objects with
    an ``accepts(value)`` method such as :class:`Interval` and :class:`Options`.
    """
    constraints = _expand(constraints)
    for constraint in constraints:
        if constraint is None:
            if value is None:
                return
        elif constraint.accepts(value):
            return
    raise ValueError(
        f"The {name!r} parameter of {func_name} must be {_describe(constraints)}. "
        f"Got {value!r} instead."
    )


def validate_params(constraints):
    """Decorate a function so that its named parameters are checked on each call.

    Parameters
    ----------
    constraints : dict
        Maps parameter names to a list of accepted constraints (see :func:`check_param`).
    """

    def decorator(func):
        signature = inspect.signature(func)
        missing = set(constraints) - set(signature.parameters)
        if missing:  # a programming error in this package, caught at import
            raise TypeError(f"{func.__name__} has no parameters {sorted(missing)}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, accepted in constraints.items():
                check_param(func.__qualname__, name, bound.arguments[name], accepted)
            return func(*args, **kwargs)

        return wrapper

    return decorator


def check_estimator_params(estimator):
    """Check an estimator's parameters against its ``_parameter_constraints``.

    Parameters
    ----------
    estimator : BaseEstimator
        Any estimator with a ``_parameter_constraints`` dict; parameters without an entry,
        or whose entry is ``"no_validation"``, are not checked.

    Raises
    ------
    ValueError
        Naming the estimator, the parameter, the accepted values and the value received.
    """
    params = estimator.get_params(deep=False)
    for name, accepted in getattr(estimator, "_parameter_constraints", {}).items():
        if accepted == "no_validation":
            continue
        if name in params:
            check_param(type(estimator).__name__, name, params[name], accepted)
