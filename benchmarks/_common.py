"""Helpers shared by the benchmark scripts: a table on stdout, JSON under results/, README section."""

from __future__ import annotations

import json
import os
import platform
import re
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REAL_DATA = Path(os.environ.get("SKCOVID_REAL_DATA", HERE.parent.parent / "shared" / "data" / "covid-scans"))


def machine_info():
    """What the numbers were measured on."""
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def markdown_table(rows, columns=None):
    """Render a list of dicts as a Markdown table (floats with 4 significant digits)."""
    if not rows:
        return "(no rows)"
    columns = columns or list(rows[0])

    def fmt(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def report(name, rows, *, meta=None, columns=None, command=None, notes=""):
    """Print the table, write ``results/<name>.json`` and update the README section of ``name``.

    Parameters
    ----------
    name : str
        Benchmark name (``bench_embedding``, ...): the JSON file and the README markers use it.
    rows : list of dict
        One dict per table row.
    meta : dict, optional
        Extra facts stored in the JSON (settings, targets, ratios).
    columns : list of str, optional
        Column order of the table.
    command : str, optional
        The command that produced the numbers (shown in the README).
    notes : str, optional
        Markdown placed under the table.
    """
    table = markdown_table(rows, columns)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"name": name, "machine": machine_info(), "meta": meta or {}, "rows": rows}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))
    readme = HERE / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    info = payload["machine"]
    body = (
        f"{start}\n## {name}\n\n"
        + (f"Command: `{command}`\n\n" if command else "")
        + f"Measured {info['date']} on {info['cpu_count']} CPU cores ({info['device']}, "
        f"torch {info['torch']}, {info['threads']} threads).\n\n{table}\n\n{notes}\n{end}"
    )
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: body, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    readme.write_text(text)
    return payload
