"""What each page shows, worked out from the registry as a principal may see it (no HTML here).

Every lookup goes through :class:`~ebonite_server.access.RegistryView`: an object of a project the principal
cannot see is answered exactly as a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ebonite_core import Model, Project, Task
from ebonite_core.model.safety import SAFE_TEXT, UNSAFE_TEXT, recorded_safe
from ebonite_core.query import ModelQuery

from ..access import RegistryView
from ..protocol import role_rank
from .listing import differing, show_value

MIN_COMPARE = 2
MAX_COMPARE = 4


@dataclass
class TaskSummary:
    task: Task
    model_count: int
    size: int
    last_push: datetime | None


@dataclass
class ProjectSummary:
    project: Project
    tasks: list[TaskSummary]
    role: str

    @property
    def model_count(self) -> int:
        return sum(task.model_count for task in self.tasks)

    @property
    def size(self) -> int:
        return sum(task.size for task in self.tasks)


def role_in(view: RegistryView, project: Project) -> str:
    """The principal's highest role on ``project`` (it can see it: at least read)."""
    rank = view.principal.rank_in(project.name)
    return ("read", "write", "admin")[rank or 0]


def may(view: RegistryView, project: Project, role: str) -> bool:
    rank = view.principal.rank_in(project.name)
    return rank is not None and rank >= role_rank(role)


def registry_summary(view: RegistryView) -> list[ProjectSummary]:
    """Every visible project with its tasks: model counts, sizes and the time of the last push, each task's
    aggregated by the store (``summarize_models``: one statement on SQL, no model read)."""
    summaries = []
    for project in view.visible_projects():
        tasks = []
        for task in view.meta.get_tasks(project):
            summary = view.meta.summarize_models(ModelQuery.create(task_id=task.id))
            tasks.append(TaskSummary(task, summary.count, summary.size, summary.last_created))
        summaries.append(ProjectSummary(project, tasks, role_in(view, project)))
    return summaries


def model_size(model: Model) -> int:
    return sum(artifact.size for artifact in model.artifacts)


def aliases_of(view: RegistryView, task: Task, model: Model) -> list[str]:
    return sorted(alias for alias, model_id in view.meta.get_aliases(task).items() if model_id == model.id)


def format_safety(model: Model) -> tuple[bool, str]:
    """Whether the recorded format loads without running code, and that said in words."""
    safe = recorded_safe(model)
    return safe, SAFE_TEXT if safe else UNSAFE_TEXT


def signature_text(description: dict[str, Any]) -> str:
    """A short text for a recorded input or output signature (see ``ebonite_core.model.signature``)."""
    kind = str(description.get("type", "?"))
    if "dtype" in description and "shape" in description:
        shape = ", ".join("*" if axis is None else str(axis) for axis in description["shape"])
        return f"{kind}[{description['dtype']}, ({shape})]"
    if "columns" in description:
        pairs = zip(description["columns"], description.get("dtypes", []), strict=False)
        return f"{kind}[{', '.join(f'{column}: {dtype}' for column, dtype in pairs)}]"
    if kind == "pandas.Series":
        return f"{kind}[{description.get('name')}: {description.get('dtype')}]"
    if "item_types" in description:
        return f"{kind}[{' | '.join(map(str, description['item_types'])) or '-'}]"
    if isinstance(description.get("fields"), dict):
        return "{" + ", ".join(f"{key}: {signature_text(value)}" for key, value in description["fields"].items()) + "}"
    return kind


def load_snippet(client_expression: str, project: Project, task: Task, model: Model) -> str:
    """The two lines of Python that load the model (names written as Python literals)."""
    return (
        "from ebonite_core import Ebonite\n"
        f"model = {client_expression}.get_model({model.name!r}, {task.name!r}, {project.name!r}, load_artifacts=True)"
    )


@dataclass
class CompareRow:
    label: str
    values: list[str | None]  # None: the model has no such entry
    differs: bool


@dataclass
class CompareSection:
    title: str
    rows: list[CompareRow] = field(default_factory=list)

    @property
    def differing_count(self) -> int:
        return sum(row.differs for row in self.rows)


@dataclass
class Comparison:
    models: list[tuple[Model, Task, Project]]
    sections: list[CompareSection]


def compare(view: RegistryView, model_ids: list[str]) -> Comparison:
    """Two to four models side by side: their facts, params, tags and requirements, row by row, each row
    marked when the models' values differ (a missing entry differs from any present one)."""
    unique = list(dict.fromkeys(model_ids))
    if not MIN_COMPARE <= len(unique) <= MAX_COMPARE:
        raise ValueError(
            f"Compare takes {MIN_COMPARE} to {MAX_COMPARE} different models; {len(unique)} were chosen. Tick "
            "the models to compare in a task's table."
        )
    found = [view.model(model_id, "read") for model_id in unique]
    models = [model for model, _, _ in found]

    def row(label: str, values: list[Any]) -> CompareRow:
        shown = [None if value is _MISSING else show_value(value) for value in values]
        present = [(value is not _MISSING, None if value is _MISSING else value) for value in values]
        return CompareRow(label, shown, differing(present))

    def keyed(title: str, mappings: list[dict[str, Any]]) -> CompareSection:
        keys = sorted({key for mapping in mappings for key in mapping})
        return CompareSection(title, [row(key, [mapping.get(key, _MISSING) for mapping in mappings]) for key in keys])

    facts = CompareSection(
        "Model",
        [
            row("project / task", [f"{project.name} / {task.name}" for _, task, project in found]),
            row("created", [model.creation_date.strftime("%Y-%m-%d %H:%M:%S UTC") for model in models]),
            row("author", [model.author or "" for model in models]),
            row("format", [f"{model.serializer}: {format_safety(model)[1]}" for model in models]),
            row("python", [model.python_version for model in models]),
            row("size", [human_size(model_size(model)) for model in models]),
            row("methods", [", ".join(sorted(model.methods)) for model in models]),
        ],
    )
    return Comparison(
        found,
        [
            facts,
            keyed("Params", [model.params for model in models]),
            keyed("Tags", [model.tags for model in models]),
            keyed("Requirements", [model.requirements for model in models]),
        ],
    )


def human_size(count: int) -> str:
    """``512 B``, ``1.5 KiB``, ``12.0 MiB``..."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


_MISSING: Any = object()
