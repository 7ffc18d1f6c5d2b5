"""The ``ebonite`` command.

Errors print one line on stderr and exit with status 1 (2 for usage errors, as argparse does); ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .errors import EboniteError


def _plugins(args: argparse.Namespace) -> int:
    from .plugins import get_registry

    registry = get_registry()
    report = registry.report()
    conflicts = [str(error) for error in registry.conflicts()]
    rows = [
        {
            "name": info.name,
            "distribution": info.distribution or ("ebonite-core" if info.builtin else None),
            "version": info.version or (_core_version() if info.builtin else None),
            "builtin": info.builtin,
            "types": {kind: sorted(types) for kind, types in sorted(info.types.items())},
            "status": "disabled" if info.disabled else "failed" if info.error else "ok",
            "error": f"{type(info.error).__name__}: {info.error}" if info.error else None,
        }
        for info in report
    ]
    if args.json:
        print(json.dumps({"plugins": rows, "conflicts": conflicts}, indent=2))
        return 0
    table = [("PLUGIN", "DISTRIBUTION", "VERSION", "TYPES", "STATUS")]
    for row in rows:
        types = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in row["types"].items()) or "-"
        status = row["status"] if not row["error"] else f"failed: {row['error']}"
        table.append((row["name"], row["distribution"] or "?", row["version"] or "?", types, status))
    widths = [max(len(line[column]) for line in table) for column in range(4)]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[4])
    for conflict in conflicts:
        print(f"conflict: {conflict}")
    return 0


def _core_version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ebonite", description="Look into and manage an ebonite registry.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plugins = commands.add_parser("plugins", help="list installed plugins, the types they provide, load failures")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(handler=_plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Any = args.handler
    try:
        return handler(args)
    except EboniteError as err:
        if args.debug:
            raise
        print(f"ebonite: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
