"""``ebonite ls`` and ``ebonite show``: what a registry holds."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from ..errors import InvalidNameError
from ..interfaces import Command
from ..maintenance.walk import RegistryPath, find, model_path, tree
from ..model.safety import describe_format
from ..objects import Model, Project, Task
from . import output
from .command import UsageError


def add_path(
    parser: argparse.ArgumentParser,
    shape: str = "PROJECT[/TASK[/MODEL|@ALIAS]]",
    optional: bool = True,
    what: str = "what to look at",
) -> None:
    if optional:
        parser.add_argument("path", nargs="?", default="", metavar=shape, help=f"{what} (default: everything)")
    else:
        parser.add_argument("path", metavar=shape, help=what)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def parse_path(text: str) -> RegistryPath:
    try:
        return RegistryPath.parse(text)
    except InvalidNameError as err:
        raise UsageError(str(err)) from err


def model_size(model: Model) -> int:
    return sum(artifact.size for artifact in model.artifacts)


def _model_summary(project: Project, task: Task, model: Model) -> dict[str, Any]:
    return {
        "name": model.name,
        "path": model_path(project, task, model),
        "created": output.iso(model.creation_date),
        "author": model.author,
        "size": model_size(model),
        "files": len(model.artifacts),
        "methods": sorted(model.methods),
    }


class LsCommand(Command):
    name = "ls"
    help = "list projects and tasks (or the models of a task) with model counts, sizes and creation dates"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_path(parser)

    def run(self, args: argparse.Namespace) -> int:
        path = parse_path(args.path)
        projects = tree(self.client(args), path)
        document = {"projects": []}
        for project, tasks in projects:
            task_rows = []
            for task, models in tasks:
                task_rows.append(
                    {
                        "name": task.name,
                        "path": model_path(project, task),
                        "created": output.iso(task.creation_date),
                        "author": task.author,
                        "model_count": len(models),
                        "size": sum(model_size(model) for model in models),
                        "models": [_model_summary(project, task, model) for model in models],
                    }
                )
            document["projects"].append(
                {
                    "name": project.name,
                    "path": project.name,
                    "created": output.iso(project.creation_date),
                    "author": project.author,
                    "task_count": len(task_rows),
                    "model_count": sum(row["model_count"] for row in task_rows),
                    "size": sum(row["size"] for row in task_rows),
                    "tasks": task_rows,
                }
            )
        if args.json:
            output.print_json(document)
        elif path.depth >= 2:
            self._print_models(document)
        else:
            self._print_tree(document)
        return 0

    @staticmethod
    def _print_tree(document: dict[str, Any]) -> None:
        rows = []
        for project in document["projects"]:
            rows.append(
                (project["path"], project["task_count"], project["model_count"], project["size"], project["created"])
            )
            rows += [(t["path"], "", t["model_count"], t["size"], t["created"]) for t in project["tasks"]]
        if not rows:
            output.echo("No projects yet: push a model into this registry first.")
            return
        table = [(p, tasks, models, output.size(size), _date(created)) for p, tasks, models, size, created in rows]
        output.print_table(("PATH", "TASKS", "MODELS", "SIZE", "CREATED (UTC)"), table, right=(1, 2, 3))

    @staticmethod
    def _print_models(document: dict[str, Any]) -> None:
        models = [m for p in document["projects"] for t in p["tasks"] for m in t["models"]]
        if not models:
            output.echo("No models in this task yet.")
            return
        rows = [
            (m["path"], m["files"], output.size(m["size"]), _date(m["created"]), ", ".join(m["methods"]))
            for m in models
        ]
        output.print_table(("PATH", "FILES", "SIZE", "CREATED (UTC)", "METHODS"), rows, right=(1, 2))


def _date(iso_text: str) -> str:
    return output.date(datetime.fromisoformat(iso_text))


def _print_indented(header: tuple[str, ...], rows: list[tuple[object, ...]], right: tuple[int, ...] = ()) -> None:
    if not rows:
        output.echo("  -")
        return
    output.print_table(header, rows, right=right, indent="  ")


class ShowCommand(Command):
    name = "show"
    help = "everything recorded about a model: methods and signatures, requirements, artifacts, params"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_path(parser, "PROJECT/TASK/MODEL|PROJECT/TASK@ALIAS", optional=False, what="the model to show")

    def run(self, args: argparse.Namespace) -> int:
        path = parse_path(args.path)
        if path.depth != 3:
            raise UsageError(
                f"show needs a model's path, PROJECT/TASK/MODEL, not {args.path!r}: run `ebonite ls {path}` "
                "to list what it holds."
            )
        client = self.client(args)
        project, task, model = find(client, path)
        assert project is not None and task is not None and model is not None
        aliases = sorted(
            alias for alias, model_id in client.meta_repo.get_aliases(task).items() if model_id == model.id
        )
        document = {
            "path": model_path(project, task, model),
            "project": project.name,
            "task": task.name,
            "size": model_size(model),
            "aliases": aliases,
            **model.to_dict(),
        }
        if args.json:
            output.print_json(document)
            return 0
        fields = [
            ("model", document["path"]),
            ("id", model.id),
            ("created", f"{output.date(model.creation_date)} UTC"),
            ("author", model.author or "-"),
            ("description", model.description or "-"),
            ("format", describe_format(model)),
            ("python", model.python_version or "-"),
            ("artifact key", model.artifact_key or "-"),
            ("size", output.size(document["size"])),
            ("aliases", ", ".join(aliases) or "-"),
            ("tags", ", ".join(f"{key}={value}" for key, value in sorted(model.tags.items())) or "-"),
        ]
        width = max(len(label) for label, _ in fields) + 2
        for label, value in fields:
            output.echo(f"{label + ':':<{width}}{value}")
        output.echo()
        output.echo("methods:")
        for method, described in sorted(model.methods.items()):
            inputs, outputs = described.get("input", {}), described.get("output", {})
            output.echo(f"  {method}({output.signature(inputs)}) -> {output.signature(outputs)}")
        output.echo()
        output.echo("requirements:")
        _print_indented(("DISTRIBUTION", "VERSION"), sorted(model.requirements.items()))
        output.echo()
        output.echo("artifacts:")
        rows = [(a.name, output.size(a.size), a.sha256) for a in model.artifacts]
        _print_indented(("FILE", "SIZE", "SHA256"), rows, right=(1,))
        output.echo()
        output.echo("params:")
        for name, value in sorted(model.params.items()):
            output.echo(f"  {name} = {json.dumps(value, ensure_ascii=False)}")
        if not model.params:
            output.echo("  -")
        return 0
