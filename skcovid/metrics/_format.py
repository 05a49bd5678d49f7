"""Readable ``repr`` for result objects: rounded numbers, tables below, full precision kept.

The attributes keep every digit; only what is printed is rounded (4 significant digits).
"""

import dataclasses

import numpy as np
import pandas as pd

_DIGITS = 4
_WIDTH = 88


def short(value):
    """A short, rounded text for one attribute value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        text = f"{value:.{_DIGITS}g}"
        return text if any(c in text for c in ".ein") else text + ".0"  # 1.0, not 1
    if isinstance(value, tuple):
        return "(" + ", ".join(short(v) for v in value) + ")"
    if isinstance(value, np.ndarray):
        if value.size > 12:
            return f"<array of shape {value.shape}>"
        rounded = np.round(value, _DIGITS) if value.dtype.kind == "f" else value
        return np.array2string(rounded, separator=", ").replace("\n", "")
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return f"<{type(value).__name__} of shape {value.shape}>"
    if dataclasses.is_dataclass(value):
        return result_repr(value, tables=False)
    return repr(value)


def result_repr(result, tables=True):
    """``Name(field=value, ...)`` with rounded numbers, then any tables, rounded.

    Use as ``__repr__ = result_repr`` in a dataclass.
    """
    items, frames = [], []
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        if isinstance(value, (pd.DataFrame, pd.Series)):
            frames.append((field.name, value))
        else:
            items.append(f"{field.name}={short(value)}")
    name = type(result).__name__
    text = f"{name}({', '.join(items)})"
    if len(text) > _WIDTH:
        text = f"{name}(\n    " + ",\n    ".join(items) + ",\n)"
    if tables:
        for field, frame in frames:
            text += f"\n{field}:\n{frame.round(_DIGITS).to_string()}"
    elif frames:
        text = text[:-1] + (", " if items else "") + ", ".join(
            f"{field}={short(frame)}" for field, frame in frames) + ")"
    return text
