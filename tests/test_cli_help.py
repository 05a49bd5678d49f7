"""Every ``skcovid`` command: --help shows runnable examples and the exit codes; usage errors exit 2."""

from __future__ import annotations

import pytest

from skcovid.cli import SUBCOMMANDS, build_parser, main


@pytest.mark.parametrize("command", list(SUBCOMMANDS))
def test_help_has_examples_and_exit_codes(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"  skcovid {command}" in text
    assert "130  interrupted" in text and "2    usage error" in text


@pytest.mark.parametrize("command", list(SUBCOMMANDS))
def test_examples_parse(command):
    """The examples in --help are valid command lines (options and values the parser accepts)."""
    parser = build_parser()
    for line in SUBCOMMANDS[command][2]:
        args = parser.parse_args(line.split()[1:])
        assert args.command == command


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["tarin"]) == 2
    assert "invalid choice: 'tarin'" in capsys.readouterr().err
    assert main(["--version"]) == 0
