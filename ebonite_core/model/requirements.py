"""From the modules an object needs to the installed distributions (and versions) that provide them."""

from __future__ import annotations

import functools
import re
import sys
import warnings
from collections.abc import Iterable, Mapping
from typing import Any


class RequirementsWarning(UserWarning):
    """The environment differs from the one a model was created in, or a module has no distribution."""


@functools.lru_cache(maxsize=1)
def _distributions_by_package() -> Mapping[str, list[str]]:
    # Slow to import and to run: once, when needed.
    if sys.version_info >= (3, 11):
        from importlib.metadata import packages_distributions
    else:  # Python 3.10's reads only top_level.txt, which wheels built by meson (numpy, scikit-learn) lack
        from importlib_metadata import packages_distributions

    return packages_distributions()


@functools.cache
def _installed_version(distribution: str) -> str | None:
    # Cached per process: reading a distribution's METADATA costs about a millisecond, and the version that
    # matters is the one this process imported, even if a newer one was installed since.
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def requirements_of(modules: Iterable[str]) -> dict[str, str]:
    """Map ``modules`` to ``{distribution: installed version}``, leaving out the standard library.

    Modules that belong to no installed distribution (a script's ``__main__``, a local file) cannot be
    recorded; they are reported with a :class:`RequirementsWarning` because loading the model elsewhere
    needs them importable there.
    """
    requirements: dict[str, str] = {}
    unresolved: set[str] = set()
    for top_level in sorted({module.split(".")[0] for module in modules}):
        if top_level in sys.stdlib_module_names or top_level in ("builtins", "__builtin__"):
            continue
        distributions = _distributions_by_package().get(top_level)
        if not distributions:
            unresolved.add(top_level)
            continue
        for distribution in distributions:
            version = _installed_version(distribution)
            if version is None:
                unresolved.add(top_level)
            else:
                requirements[distribution] = version
    if unresolved:
        where = ", ".join(sorted(unresolved))
        hint = (
            " (objects defined in a script's __main__ can only be loaded by that script)"
            if "__main__" in unresolved
            else ""
        )
        warnings.warn(
            f"The model needs modules that belong to no installed distribution: {where}{hint}. "
            "They must be importable wherever the model is loaded.",
            RequirementsWarning,
            stacklevel=3,
        )
    return dict(sorted(requirements.items()))


_SAMPLE_ITEMS = 20  # items of a list, tuple or dict sample whose types are looked at
# PEP 508 distribution names, and an exact version after "==".
_REQUIREMENT = re.compile(r"([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])(?:\s*==\s*([^\s=<>!~;,]+))?")


def sample_modules(sample: Any) -> set[str]:
    """The modules of the data sample's type and, for a list, tuple or dict, of its first items' types: the
    libraries a caller needs to build the model's input (a pandas DataFrame sample needs pandas)."""
    items: list[Any] = [sample]
    if isinstance(sample, (list, tuple)):
        items += list(sample[:_SAMPLE_ITEMS])
    elif isinstance(sample, dict):
        items += list(sample.values())[:_SAMPLE_ITEMS]
    return {type(item).__module__ for item in items}


def _canonical_name(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.distribution(distribution).metadata["Name"]
    except metadata.PackageNotFoundError:
        return None


def parse_requirements(spec: str | Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``additional_requirements`` as ``{distribution: version}``: ``"name"`` (the installed version),
    ``"name==version"``, a list of these, or a ``{name: version}`` dict. ``ValueError`` names a bad entry."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        entries = []
        for name, version in spec.items():
            if not isinstance(name, str) or not isinstance(version, str) or not version.strip():
                raise ValueError(f"additional_requirements: {name!r}: {version!r} must map a name to a version text.")
            entries.append(f"{name}=={version}")
    elif isinstance(spec, str):
        entries = [spec]
    else:
        entries = list(spec)
    requirements: dict[str, str] = {}
    for entry in entries:
        match = _REQUIREMENT.fullmatch(entry.strip()) if isinstance(entry, str) else None
        if match is None:
            raise ValueError(
                f"additional_requirements: {entry!r} is not a distribution name or 'name==version' (exact versions "
                "only: the model records what it was built with)."
            )
        name, version = match.group(1), match.group(2)
        canonical = _canonical_name(name)
        if version is None:
            version = _installed_version(name)
            if version is None or canonical is None:
                raise ValueError(
                    f"additional_requirements: {name!r} is not installed here: give its version, '{name}==1.2.3'."
                )
        requirements[canonical or name] = version
    return requirements


def check_requirements(requirements: Mapping[str, str], model_name: str) -> None:
    """Warn when an installed distribution's version differs from the recorded one, or is missing."""
    problems = []
    for distribution, recorded in requirements.items():
        installed = _installed_version(distribution)
        if installed is None:
            problems.append(f"{distribution} {recorded} is not installed")
        elif installed != recorded:
            problems.append(f"{distribution} is {installed}, the model was created with {recorded}")
    if problems:
        warnings.warn(
            f"Model {model_name!r} was created in a different environment: {'; '.join(problems)}.",
            RequirementsWarning,
            stacklevel=3,
        )
