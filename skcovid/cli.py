"""The ``skcovid`` command: ``skcovid demo`` (the main job) and ``skcovid predict``."""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> module with ``add_arguments(parser)`` and ``run(args) -> int``
SUBCOMMANDS = {
    "demo": ("skcovid._demo", "fit, evaluate and compare the multi-modal multi-task system"),
    "predict": ("skcovid._predict", "predict scans with a saved model; write a CSV and overlays"),
}


def build_parser():
    """The argument parser of the ``skcovid`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skcovid", description="COVID-19 detection from chest X-ray and CT."
    )
    parser.add_argument("--version", action="version", version=f"skcovid {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


#: Exit code of an interrupted command (128 + SIGINT, as shells report Ctrl-C).
EXIT_INTERRUPTED = 130


def main(argv=None):
    """Run the ``skcovid`` command; returns the exit code (130 when interrupted by Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except KeyboardInterrupt as interrupt:
        detail = f" ({interrupt})" if str(interrupt) else ""
        print(f"skcovid {args.command}: interrupted{detail}; it did not finish and wrote no result "
              "that claims it did.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
