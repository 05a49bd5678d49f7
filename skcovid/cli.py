"""The ``skcovid`` command: train, evaluate, predict, export, embed, audit and the demo.

Each sub-command lives in its own module with ``add_arguments(parser)`` and
``run(args) -> int``; :data:`SUBCOMMANDS` registers them with their one-line help and the
examples their ``--help`` shows. Exit codes: 0 success, 1 failure (with a message naming the
culprit), 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ._cli_common import EXIT_CODES, EXIT_USAGE

# sub-command -> (module with ``add_arguments(parser)`` and ``run(args) -> int``, help, examples)
SUBCOMMANDS = {
    "train": (
        "skcovid._train",
        "train a model on a folder or scan-table CSV and save it (model.skcovid)",
        [
            "skcovid train covid-scans --out my-model",
            "skcovid train scans.csv --embedder fine_tuned --max-epochs 50 --cache emb-cache --out my-model",
            "skcovid train covid-scans --model image --image-size 224 --weights DEFAULT --out cnn",
        ],
    ),
    "evaluate": (
        "skcovid._evaluate",
        "evaluate a saved model on a folder: clinical report with CIs per modality, plots, JSON",
        [
            "skcovid evaluate my-model/model.skcovid covid-scans --out my-eval",
            "skcovid evaluate cnn/model.onnx scans.csv --split all --ci-method wilson --aggregate mean",
            "skcovid evaluate my-model/model.skcovid covid-scans --threshold 0.3 --out sensitive",
        ],
    ),
    "predict": (
        "skcovid._predict",
        "predict scans with a saved model; write a CSV and overlays",
        [
            "skcovid predict --model my-model/model.skcovid --images new-scans/ --out predictions",
            "skcovid predict --model cnn/model.onnx --images a.png b.png --out predictions --threshold 0.3",
            "skcovid predict --model cnn/model.skcovid --images /shared/scans --out /shared/pred "
            "--scheduler local:4",
        ],
    ),
    "export": (
        "skcovid._export_cmd",
        "export a saved image model to ONNX (model.onnx + model.json), checked against the model",
        [
            "skcovid export cnn/model.skcovid --out cnn/model.onnx",
            "skcovid export cnn/model.skcovid --out cnn/model.onnx --opset 18 --no-dynamic-batch",
            "skcovid export my-model/model.skcovid --part embed.task_.estimators_.xray --out xray-cnn.onnx",
        ],
    ),
    "embed": (
        "skcovid._embed_cmd",
        "embed the scans of a folder or scan table with an image embedder; write Parquet (or CSV)",
        [
            "skcovid embed covid-scans --out embeddings.parquet",
            "skcovid embed scans.csv --embedder pretrained --weights DEFAULT --out cnn.parquet",
            "skcovid embed /shared/scans --embedder pretrained --scheduler local:4 --out /shared/emb",
        ],
    ),
    "audit": (
        "skcovid._audit_cmd",
        "audit a folder for shortcuts (does the label follow the source, not the disease?)",
        [
            "skcovid audit covid-scans --out audit",
            "skcovid audit covid-scans --attributes source view --checks label embeddings --out audit",
            "skcovid audit scans.csv --split all --fail-on-flag --out audit",
            "skcovid audit covid-scans --model model.skcovid --out audit-model",
        ],
    ),
    "demo": (
        "skcovid._demo",
        "fit, evaluate and compare the multi-modal multi-task system",
        [
            "skcovid demo",
            "skcovid demo --data covid-scans --out demo-real",
            "skcovid demo --quick --embedder fine_tuned",
        ],
    ),
}


def _epilog(examples):
    return "examples:\n" + "\n".join(f"  {line}" for line in examples) + "\n\n" + EXIT_CODES


def build_parser():
    """The argument parser of the ``skcovid`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skcovid",
        description="COVID-19 detection from chest X-ray and CT. For research and software testing "
        "only; not for clinical use.",
        epilog="Run 'skcovid COMMAND --help' for a command's options and examples.\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"skcovid {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text, examples) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_epilog(examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        importlib.import_module(module).add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


#: Exit code of an interrupted command (128 + SIGINT, as shells report Ctrl-C).
EXIT_INTERRUPTED = 130


def main(argv=None):
    """Run the ``skcovid`` command; returns the exit code.

    0: success; 1: failure, with a message naming the culprit; 2: usage error (argparse's
    own, a missing file or folder, a model file of the wrong kind); 130: interrupted by
    Ctrl-C.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else [str(a) for a in argv])
    except SystemExit as stop:  # --help, --version (0) and usage errors (2): return, don't exit
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except KeyboardInterrupt as interrupt:
        detail = f" ({interrupt})" if str(interrupt) else ""
        print(
            f"skcovid {args.command}: interrupted{detail}; it did not finish and wrote no result "
            "that claims it did.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
