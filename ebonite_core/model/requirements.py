"""From the modules an object needs to the installed distributions (and versions) that provide them."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Iterable, Mapping


class RequirementsWarning(UserWarning):
    """The environment differs from the one a model was created in, or a module has no distribution."""


@functools.lru_cache(maxsize=1)
def _distributions_by_package() -> Mapping[str, list[str]]:
    from importlib.metadata import packages_distributions  # slow to import and to run: once, when needed

    return packages_distributions()


def requirements_of(modules: Iterable[str]) -> dict[str, str]:
    """Map ``modules`` to ``{distribution: installed version}``, leaving out the standard library.

    Modules that belong to no installed distribution (a script's ``__main__``, a local file) cannot be
    recorded; they are reported with a :class:`RequirementsWarning` because loading the model elsewhere
    needs them importable there.
    """
    from importlib import metadata

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
            try:
                requirements[distribution] = metadata.version(distribution)
            except metadata.PackageNotFoundError:
                unresolved.add(top_level)
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


def check_requirements(requirements: Mapping[str, str], model_name: str) -> None:
    """Warn when an installed distribution's version differs from the recorded one, or is missing."""
    from importlib import metadata

    problems = []
    for distribution, recorded in requirements.items():
        try:
            installed = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            problems.append(f"{distribution} {recorded} is not installed")
            continue
        if installed != recorded:
            problems.append(f"{distribution} is {installed}, the model was created with {recorded}")
    if problems:
        warnings.warn(
            f"Model {model_name!r} was created in a different environment: {'; '.join(problems)}.",
            RequirementsWarning,
            stacklevel=3,
        )
