"""Building the parser from every command the plugins provide, running one, and the error convention."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from .. import __version__
from ..errors import EboniteError
from ..interfaces import Command
from ..plugins import get_registry
from . import output
from .command import UsageError, open_client, read_config

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
JSON_BEFORE_COMMAND = "json_before_command"


def _global_options(in_subcommand: bool) -> argparse.ArgumentParser:
    # The options are accepted before and after the command name; in the subcommand they default to
    # SUPPRESS, so that `ebonite --config x ls` is not undone by the subcommand's own default.
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS if in_subcommand else None,
        help="the registry's config file (.toml or .json); default: $EBONITE_CONFIG, else .ebonite here",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if in_subcommand else False,
        help="show the traceback of an error",
    )
    return parser


class _UnavailableCommand(Command):
    """Stands in for a plugin command whose parser could not be built, to say so when it is used."""

    def __init__(self, name: str, cls: type, error: Exception) -> None:
        super().__init__()
        self.message = (
            f"The command {name!r} ({cls.__module__}.{cls.__qualname__}) is broken: {type(error).__name__}: "
            f"{error}. Upgrade or reinstall the plugin that provides it (see `ebonite plugins`)."
        )

    def run(self, args: argparse.Namespace) -> int:
        raise EboniteError(self.message)


def build_parser(commands: Mapping[str, type[Command]] | None = None) -> argparse.ArgumentParser:
    """The ``ebonite`` parser, with a subcommand for each command (by default every installed one)."""
    if commands is None:
        commands = get_registry().commands()
    parser = argparse.ArgumentParser(
        prog="ebonite",
        description="Look into, check, clean and copy an ebonite registry.",
        parents=[_global_options(in_subcommand=False)],
    )
    # What Command.client() and Command.config() use: where the registry is is the command line's business.
    parser.set_defaults(open_registry=open_client, read_registry_config=read_config)
    parser.add_argument("--version", action="version", version=f"ebonite-core {__version__}")
    # Commands add their own --json (after the command name); this one takes it before the name and is
    # merged into the command's after parsing, see _merge_json.
    parser.add_argument(
        "--json",
        dest=JSON_BEFORE_COMMAND,
        action="store_true",
        help="machine-readable output, for commands that have it",
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, cls in sorted(commands.items()):
        subparser = subcommands.add_parser(
            name, help=cls.help, description=cls.help, parents=[_global_options(in_subcommand=True)]
        )
        command: Command
        try:
            command = cls()
            command.add_arguments(subparser)
        except Exception as err:  # one plugin's broken command must not take the others down
            command = _UnavailableCommand(name, cls, err)
        subparser.set_defaults(command_object=command)
    return parser


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split("\n")).strip()
    if isinstance(error, OSError) and error.strerror and not isinstance(error, EboniteError):
        text = f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return text or type(error).__name__


class _TerminalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return output.terminal(super().format(record))


def _log_through_the_terminal_function() -> None:
    """Log records and warnings (from backends, from gc) reach stderr through :func:`output.terminal`, like
    everything else the command prints, unless the embedding program configured logging itself."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("ebonite: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    logging.captureWarnings(True)


def _merge_json(args: argparse.Namespace) -> None:
    """``ebonite --json ls`` means ``ebonite ls --json``; a command without JSON output says so."""
    if getattr(args, JSON_BEFORE_COMMAND, False):
        if not hasattr(args, "json"):
            raise UsageError(f"ebonite {args.command} has no --json output.")
        args.json = True


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ebonite`` with ``argv`` (default: the process's arguments); return the exit status."""
    _log_through_the_terminal_function()
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments  # known before parsing, for errors while loading plugin commands
    try:
        args = build_parser().parse_args(arguments)
        _merge_json(args)
        return int(args.command_object.run(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        output.echo("ebonite: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `ebonite ls | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as err:
        if debug:
            raise
        if isinstance(err, UsageError):
            output.echo(f"ebonite: error: {_one_line(err)}", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(err, (EboniteError, OSError)):
            output.echo(f"ebonite: error: {_one_line(err)}", file=sys.stderr)
        else:  # a bug, in ebonite or a plugin: still one line, with the way to the details
            output.echo(
                f"ebonite: error: unexpected {type(err).__name__}: {_one_line(err)} (run again with --debug for "
                "the traceback, and report it)",
                file=sys.stderr,
            )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
