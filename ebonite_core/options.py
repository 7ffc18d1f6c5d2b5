"""Checking a repository's options against its constructor before it runs, and naming the closest match.

``Ebonite.custom_client``, ``Ebonite.from_config`` and the ``ebonite`` command build repositories through
:func:`ebonite_core.config.build_repositories`, which calls :func:`check_options`: a typo such as
``bucket`` for ``bucket_name`` is one :class:`~ebonite_core.errors.ConfigError` naming the backend type,
the option, the options it accepts and the closest match, instead of a bare ``TypeError`` from the
constructor. The values of the options are the backend's to check (an S3 endpoint without a scheme, a
``postgres://`` URL): it raises ``ConfigError`` too.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ConfigError

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely stands for (same letters in another case first), or ``None``."""
    choices = list(choices)
    for choice in choices:
        if choice.casefold() == word.casefold():
            return choice
    import difflib  # only a misspelt name reaches here: difflib stays out of `import ebonite_core`

    lowered = {choice.casefold(): choice for choice in choices}
    found = difflib.get_close_matches(word.casefold(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def check_options(label: str, cls: type, options: Mapping[str, Any], source: str | None = None) -> None:
    """Raise one :class:`ConfigError` if ``options`` cannot be passed to ``cls(**options)``.

    ``label`` names the backend in the message (``"artifact repository type 's3' (S3ArtifactRepository)"``),
    ``source`` where the options come from (``"config file ebonite.toml"``), if anywhere.
    An option the constructor does not name is unknown, unless the constructor takes ``**kwargs``; then only
    an option that looks like a named one the caller left out is taken for a typo (``uri`` for ``db_uri``).
    """
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):  # no signature to read: the constructor checks its own options
        return
    named = {parameter.name: parameter for parameter in parameters if parameter.kind in _NAMED}
    passed_on = [parameter.name for parameter in parameters if parameter.kind is inspect.Parameter.VAR_KEYWORD]
    takes_more = bool(passed_on)
    missing = [
        name for name, parameter in named.items() if parameter.default is parameter.empty and name not in options
    ]
    not_given = [name for name in named if name not in options]
    unknown: dict[str, str | None] = {}
    for option in options:
        if option not in named:
            # A required option left out is the likeliest meaning of a typo.
            match = closest(option, missing) or closest(option, not_given)
            if match is not None or not takes_more:
                unknown[option] = match
    if not unknown and not missing:
        return
    problems = []
    if unknown:
        described = [
            f"{option!r}" + (f" (did you mean {match!r}?)" if match else "") for option, match in unknown.items()
        ]
        problems.append(f"does not take the option{'s' if len(unknown) > 1 else ''} {', '.join(described)}")
    if missing:
        problems.append(f"needs the option{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    accepted = [
        f"{name} (required)" if parameter.default is parameter.empty else name for name, parameter in named.items()
    ]
    if takes_more:
        accepted.append(f"and any other option, passed on as **{passed_on[0]}")
    where = f"{source}: the" if source else "The"
    raise ConfigError(f"{where} {label} {' and '.join(problems)}. It accepts: {', '.join(accepted) or 'no options'}.")
