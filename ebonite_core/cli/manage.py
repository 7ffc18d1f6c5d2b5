"""``ebonite rm`` and ``ebonite plugins``."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import ProjectWithTasksError, TaskWithModelsError
from ..interfaces import Command
from ..maintenance.walk import find, model_path
from ..plugins import get_registry
from . import output
from .browse import add_path, model_size, parse_path
from .command import UsageError


class RmCommand(Command):
    name = "rm"
    help = "delete a project, task or model (asks first unless --yes)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_path(parser, optional=False, what="what to delete")
        parser.add_argument("--cascade", action="store_true", help="also delete the tasks and models inside")
        parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    def run(self, args: argparse.Namespace) -> int:
        path = parse_path(args.path)
        if path.depth == 0:
            raise UsageError(f"rm needs what to delete, PROJECT[/TASK[/MODEL]], not {args.path!r}.")
        client = self.client(args)
        project, task, model = find(client, path)
        assert project is not None
        if model is not None:
            assert task is not None
            what, doomed = f"model {path}", [(task, [model])]
        elif task is not None:
            doomed = [(task, client.get_models(task))]
            what = f"task {path}"
            if doomed[0][1] and not args.cascade:
                raise TaskWithModelsError(
                    f"Task {path} has {output.plural(len(doomed[0][1]), 'model')}: pass --cascade to delete them too."
                )
        else:
            doomed = [(each, client.get_models(each)) for each in client.get_tasks(project)]
            what = f"project {path}"
            if doomed and not args.cascade:
                raise ProjectWithTasksError(
                    f"Project {path} has {output.plural(len(doomed), 'task')}: pass --cascade to delete them and "
                    "their models too."
                )
        models = [each for _, task_models in doomed for each in task_models]
        size = sum(model_size(each) for each in models)
        if model is None and models:
            what += f" with {output.plural(len(models), 'model')}"
        if model is None and project is not None and task is None and doomed:
            what += f" in {output.plural(len(doomed), 'task')}"
        if not args.yes and not output.ask(f"Delete {what} ({output.size(size)})?"):
            output.echo("Nothing deleted.", file=sys.stderr)
            return 1
        deleted: dict[str, list[str]] = {"projects": [], "tasks": [], "models": []}
        for each_task, task_models in doomed:
            for each in task_models:
                client.delete_model(each)
                deleted["models"].append(model_path(project, each_task, each))
            if model is None:
                client.delete_task(each_task)
                deleted["tasks"].append(model_path(project, each_task))
        if task is None:
            client.delete_project(project)
            deleted["projects"].append(project.name)
        if args.json:
            output.print_json({"deleted": deleted})
        else:
            output.echo(f"Deleted {what}.")
        return 0


class PluginsCommand(Command):
    name = "plugins"
    help = "list installed plugins, the types and commands they provide, load failures"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def run(self, args: argparse.Namespace) -> int:
        registry = get_registry()
        report = registry.report()
        conflicts = [str(error) for error in registry.conflicts()]
        rows = [
            {
                "name": info.name,
                "distribution": info.distribution or ("ebonite-core" if info.builtin else None),
                "version": info.version or (__version__ if info.builtin else None),
                "builtin": info.builtin,
                "types": {kind: sorted(types) for kind, types in sorted(info.types.items())},
                "status": "disabled" if info.disabled else "failed" if info.error else "ok",
                "error": f"{type(info.error).__name__}: {info.error}" if info.error else None,
            }
            for info in report
        ]
        if args.json:
            output.print_json({"plugins": rows, "conflicts": conflicts})
            return 0
        table = []
        for row in rows:
            types = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in row["types"].items()) or "-"
            status = row["status"] if not row["error"] else f"failed: {row['error']}"
            table.append((row["name"], row["distribution"] or "?", row["version"] or "?", types, status))
        output.print_table(("PLUGIN", "DISTRIBUTION", "VERSION", "TYPES", "STATUS"), table)
        for conflict in conflicts:
            output.echo(f"conflict: {conflict}")
        return 0
