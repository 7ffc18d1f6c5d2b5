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
