"""``ebonite verify``, ``ebonite gc`` and ``ebonite copy``: checking, cleaning and moving a registry."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..client import Ebonite
from ..errors import SharedStoreError
from ..interfaces import Command
from ..maintenance.copy import CopyOutcome, copy_models
from ..maintenance.gc import DEFAULT_GRACE, collect_garbage, parse_duration
from ..maintenance.verify import verify
from ..maintenance.walk import tree
from . import output
from .browse import add_path, parse_path
from .command import UsageError, open_client


class VerifyCommand(Command):
    name = "verify"
    help = "re-hash every artifact; report missing, changed and unreferenced files (exit 1 if any)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_path(parser, what="what to check")
        parser.add_argument(
            "--safe",
            action="store_true",
            help="also list the models whose format runs code when loaded (pickle): those a client with "
            "allow_pickle=false refuses",
        )

    def run(self, args: argparse.Namespace) -> int:
        path = parse_path(args.path)
        report = verify(self.client(args), path, check_formats=args.safe)
        if args.json:
            output.print_json(
                {
                    "models": report.models,
                    "files": report.files,
                    "bytes": report.bytes,
                    "checked_unreferenced": report.checked_unreferenced,
                    "problems": [problem.to_dict() for problem in report.problems],
                }
            )
        else:
            rows = [
                (problem.kind, problem.path or f"key {problem.key}", problem.file or "", problem.detail)
                for problem in report.problems
            ]
            if rows:
                output.print_table(("PROBLEM", "WHERE", "FILE", "DETAIL"), rows)
            summary = (
                f"Checked {output.plural(report.models, 'model')}, {output.plural(report.files, 'file')} "
                f"({output.size(report.bytes)}): "
            )
            kinds = ("missing", "changed", "unreferenced", "unsafe")
            counts = {kind: sum(p.kind == kind for p in report.problems) for kind in kinds}
            found = ", ".join(f"{count} {kind}" for kind, count in counts.items() if count)
            output.echo(summary + (found or "no problems") + ".")
            if any(p.kind == "unreferenced" and p.path is None for p in report.problems):
                output.echo(
                    "Unreferenced keys are left by interrupted pushes: `ebonite gc` removes them once old enough."
                )
            if counts["unsafe"]:
                output.echo(
                    "Unsafe models load only where code-running formats are allowed (allow_pickle): push them "
                    "again with a safe serializer (ebonite-skops, ebonite-xgboost, ebonite-lightgbm, ebonite-torch)."
                )
        return 1 if report.problems else 0


class GcCommand(Command):
    name = "gc"
    help = "remove artifacts no model references, left by interrupted pushes (older than a grace period)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
        parser.add_argument(
            "--older-than",
            metavar="DURATION",
            default=None,
            help="grace period: keep what was written more recently, so that a push in progress is never "
            f"collected (e.g. 30m, 2h, 7d; default {_duration_text(DEFAULT_GRACE.total_seconds())})",
        )
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def run(self, args: argparse.Namespace) -> int:
        try:
            grace = parse_duration(args.older_than) if args.older_than is not None else DEFAULT_GRACE
        except ValueError as err:
            raise UsageError(f"--older-than: {err}") from err
        report = collect_garbage(self.client(args), grace, dry_run=args.dry_run)
        if args.json:
            output.print_json(
                {
                    "dry_run": report.dry_run,
                    "older_than_seconds": grace.total_seconds(),
                    "removed_keys": [{"key": k, "written": output.iso(t)} for k, t in report.removed_keys.items()],
                    "recent_keys": [{"key": k, "written": output.iso(t)} for k, t in report.recent_keys.items()],
                    "leftovers": report.leftovers,
                }
            )
            return 0
        verb = "Would remove" if report.dry_run else "Removed"
        for key, written in report.removed_keys.items():
            output.echo(f"{verb} unreferenced key {key} (written {output.date(written)} UTC)")
        for leftover in report.leftovers:
            output.echo(f"{verb} leftover {leftover}")
        output.echo(
            f"{verb} {output.plural(len(report.removed_keys), 'unreferenced key')} and "
            f"{output.plural(len(report.leftovers), 'leftover')}."
        )
        if report.recent_keys:
            output.echo(
                f"Kept {output.plural(len(report.recent_keys), 'unreferenced key')} written in the last "
                f"{_duration_text(grace.total_seconds())}: a push may still be in progress."
            )
        return 0


def _duration_text(seconds: float) -> str:
    """``24h``, ``7d``, ``2w``, ``30m``...: the largest unit that counts at least 2 (or is exact in hours)."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size and seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:g}s"


class CopyCommand(Command):
    name = "copy"
    help = "copy projects, tasks and models (artifacts included) into another registry; resumable"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--to",
            required=True,
            metavar="CONFIG",
            help="the target registry: a config file (.toml, .json), or the directory of a local store",
        )
        add_path(parser, what="what to copy")

    def run(self, args: argparse.Namespace) -> int:
        path = parse_path(args.path)
        source = self.client(args)
        target = _target(args.to)
        selection = tree(source, path)
        models = [model for _, tasks in selection for _, task_models in tasks for model in task_models]
        total = sum(sum(artifact.size for artifact in model.artifacts) for model in models)
        bar = _progress_bar(total, len(models))

        def say(line: str) -> None:
            if bar is not None:
                bar.write(output.terminal(line))
            else:
                output.echo(line)

        def report(outcome: CopyOutcome) -> None:
            if not args.json:
                detail = f": {outcome.detail}" if outcome.detail else ""
                say(f"{outcome.status:<9}{outcome.path} ({output.size(outcome.size)}){detail}")
            if bar is not None and outcome.status != "copied":
                bar.update(outcome.size)

        try:
            outcomes = copy_models(
                source, target, path, on_outcome=report, on_bytes=bar.update if bar else None, selection=selection
            )
        except SharedStoreError as err:  # the target's configuration is wrong
            raise UsageError(str(err)) from err
        finally:
            if bar is not None:
                bar.close()
        counts: dict[str, Any] = {status: 0 for status in ("copied", "present", "conflict", "failed")}
        for outcome in outcomes:
            counts[outcome.status] += 1
        if args.json:
            output.print_json({**counts, "models": [outcome.to_dict() for outcome in outcomes]})
        else:
            output.echo(
                f"{output.plural(len(outcomes), 'model')}: {counts['copied']} copied, {counts['present']} already "
                f"there, {counts['conflict']} in conflict, {counts['failed']} failed."
            )
        return 1 if counts["conflict"] or counts["failed"] else 0


def _target(location: str) -> Any:
    if Path(location).is_dir():
        return Ebonite.local(location)
    return open_client(location)


def _progress_bar(total_bytes: int, models: int) -> Any:
    """A tqdm bar on stderr when tqdm is installed and stderr is a terminal; else ``None``."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    if not sys.stderr.isatty():
        return None
    return tqdm(
        total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024, desc=f"copy {output.plural(models, 'model')}"
    )
