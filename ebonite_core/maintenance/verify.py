"""Re-hash every artifact against its manifest, and find keys that no model references."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..client import Ebonite
from ..errors import ArtifactNotFoundError
from ..model.storage import private_directory, sha256_of
from ..objects import ArtifactFile, Model, utc_now
from ..repository import ArtifactRepository, check_artifact_name
from .walk import RegistryPath, model_path, walk


@dataclass
class Problem:
    """One thing wrong: a ``missing`` or ``changed`` file of a model, an ``unreferenced`` key, an
    ``unreferenced`` file stored under a model's key but absent from its manifest, or (when formats are
    checked) an ``unsafe`` model, whose loading needs a code-running format."""

    kind: str
    detail: str
    path: str | None = None  # the model's PROJECT/TASK/MODEL
    file: str | None = None
    key: str | None = None
    written: datetime | None = None  # for unreferenced keys: when the key was last written

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "path": self.path,
            "file": self.file,
            "key": self.key,
            "written": self.written.isoformat() if self.written else None,
            "detail": self.detail,
        }


@dataclass
class VerifyReport:
    models: int = 0
    files: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    checked_unreferenced: bool = False


def check_file(repository: ArtifactRepository, key: str, artifact: ArtifactFile, scratch: Path) -> str | None:
    """Why the stored file differs from its manifest entry, or ``None`` when it matches.

    ``ArtifactNotFoundError`` propagates: the caller reports the file as missing.
    """
    path = repository.local_path(key, artifact.name)
    downloaded = path is None
    if path is None:
        path = scratch / check_artifact_name(artifact.name)
        repository.download(key, artifact.name, path)
    try:
        size = path.stat().st_size
        if size != artifact.size:
            return f"{size} bytes, the manifest records {artifact.size}"
        digest = sha256_of(path)
        if digest != artifact.sha256:
            return f"sha256 {digest}, the manifest records {artifact.sha256}"
        return None
    except FileNotFoundError as err:  # found, then deleted before it was read: a model deleted meanwhile
        raise ArtifactNotFoundError(f"Artifact file {path} was deleted while it was read.") from err
    finally:
        if downloaded:
            path.unlink(missing_ok=True)


def verify_model(client: Ebonite, model: Model, location: str, scratch: Path, report: VerifyReport) -> None:
    if not model.artifact_key or not model.artifacts:
        report.problems.append(Problem("missing", "no artifact files are recorded for this model", location))
        return
    for artifact in model.artifacts:
        report.files += 1
        report.bytes += artifact.size
        try:
            difference = check_file(client.artifact_repo, model.artifact_key, artifact, scratch)
        except ArtifactNotFoundError:
            report.problems.append(
                Problem("missing", "not in the artifact repository", location, artifact.name, model.artifact_key)
            )
            continue
        if difference is not None:
            report.problems.append(Problem("changed", difference, location, artifact.name, model.artifact_key))
    listed = set(client.artifact_repo.list_files(model.artifact_key) or ())
    for name in sorted(listed - {artifact.name for artifact in model.artifacts}):
        detail = "stored with the model's files but not in its manifest"
        report.problems.append(Problem("unreferenced", detail, location, name, model.artifact_key))


def unsafe_format(model: Model) -> str | None:
    """Why a client with ``allow_pickle=False`` would refuse ``model`` (its format's description), or ``None``.

    Decided as the load gate decides: from the recorded format and, when the serializer is installed here,
    its class's declaration; a serializer that is not installed is judged by the metadata alone.
    """
    from ..errors import UnknownBackendError
    from ..model.safety import describe_format, recorded_safe
    from ..plugins import resolve

    if not recorded_safe(model):
        return describe_format(model)
    try:
        declared = resolve("serializer", model.serializer).safe is True
    except UnknownBackendError:
        return None
    return None if declared else f"{describe_format(model)} per its metadata, but its installed serializer is not safe"


def verify(
    client: Ebonite,
    path: RegistryPath | None = None,
    on_model: Callable[[str], None] | None = None,
    check_formats: bool = False,
) -> VerifyReport:
    """Check every file of every model under ``path`` against its size and sha256; with ``check_formats``,
    also report the models stored in a code-running format (``unsafe``: refused by ``allow_pickle=False``).

    For the whole registry, also report the artifact keys no model references: those an interrupted push
    left (``ebonite gc`` removes them once older than its grace period), or a push still in progress.
    """
    path = path or RegistryPath()
    report = VerifyReport(checked_unreferenced=path.depth == 0)
    # Keys are listed before the models are read, so that a push finishing in between is seen as referenced.
    keys = client.artifact_repo.keys() if report.checked_unreferenced else {}
    referenced = set()
    with private_directory(None, "verify", "any") as scratch:  # never in the store: it may be read-only
        for project, task, model in walk(client, path):
            location = model_path(project, task, model)
            report.models += 1
            referenced.add(model.artifact_key)
            verify_model(client, model, location, Path(scratch), report)
            if check_formats and (why := unsafe_format(model)) is not None:
                report.problems.append(Problem("unsafe", why, location))
            if on_model is not None:
                on_model(location)
    now = utc_now()
    for key, written in sorted(keys.items(), key=lambda item: item[1]):
        if key not in referenced:
            age = now - written
            detail = f"no model references it (last written {_age(age.total_seconds())} ago)"
            report.problems.append(Problem("unreferenced", detail, key=key, written=written))
    return report


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{max(seconds, 0):.0f} s"
