"""``ebonite dummy``: a plugin command, to prove the ``ebonite_commands`` hook."""

from __future__ import annotations

import argparse

from ebonite_core.cli import Command, UsageError, output


class DummyCommand(Command):
    name = "dummy"
    help = "test-only: count the projects of the registry"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--greeting", default="hello")

    def run(self, args: argparse.Namespace) -> int:
        if not args.greeting:
            raise UsageError("--greeting must not be empty")
        output.echo(f"{args.greeting}: {len(self.client(args).get_projects())} projects")
        return 0
