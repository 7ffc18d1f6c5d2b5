"""The artifact repository interface: where model binaries live."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from ..masking import hide_url_secrets

if TYPE_CHECKING:
    from ..objects import Model, Task

#: The file (or object) a backend writes under every key it pushes, ``<key>/.ebonite-key``, before any of the
#: key's files become visible: the proof that the store wrote the key. Artifact file names cannot start with
#: ``.``, so no serializer can write or fake it.
KEY_MARKER = ".ebonite-key"
# ebonite-core wrote keys without a marker before 0.2; they were always 32 lowercase hex digits (uuid4().hex).
_UNMARKED_KEY = re.compile(r"[0-9a-f]{32}")


def key_marker(key: str) -> bytes:
    """The content of the marker of ``key`` (for people who come across it; only its presence is checked)."""
    return f"Written by ebonite: the files of artifact key {key}; `ebonite gc` and `ebonite rm` remove them.\n".encode()


def deletable_key(key: str, marked: bool) -> bool:
    """Whether a backend may delete ``key`` when asked to: it carries the marker, or it has the format of the
    keys ebonite-core wrote before markers existed (a store written by an older version keeps working)."""
    return marked or _UNMARKED_KEY.fullmatch(key) is not None


class ArtifactRepository(ABC):
    """Stores the files of each pushed model under a key that the client chooses.

    A key is a fresh random string per push, never reused; its files are stored as ``<root>/<key>/<file
    name>`` in whatever way the backend lays things out. The contract
    (``ebonite_core.testing.ArtifactRepositoryContract`` checks it):

    - ``push`` stores every file or raises; it never overwrites a key that exists
      (``FileExistsError`` or an ``EboniteError``). Files are streamed, never read whole into memory. It
      writes the key's marker (:data:`KEY_MARKER`, content :func:`key_marker`) at ``<root>/<key>/.ebonite-key``
      before any file of the key is visible (in the same atomic rename, or as the first object uploaded).
    - ``download`` writes one stored file to a local path, streaming; a missing key or file raises
      :class:`~ebonite_core.errors.ArtifactNotFoundError`.
    - ``delete`` removes every file of one key and nothing else: deleting key ``1`` never touches key
      ``10``. Deleting a missing key is not an error. A key that the store cannot prove it wrote (no
      marker, and not in the format of unmarked keys from before markers: :func:`deletable_key`) is left
      alone with an error. The marker is removed last, so that an interrupted delete stays collectable.
    - ``keys`` lists the keys the store can prove it wrote (those with a marker exactly at
      ``<root>/<key>/.ebonite-key``), with the time each was last written, for garbage collection. A folder,
      prefix or object merely found under the root (a user's files, another registry nested under this
      one's prefix) is never a key. ``key_written`` answers the same for one key.
    - Nothing follows a symbolic link out of the store, and listing or reading never writes.
    - Driver failures are raised as :class:`~ebonite_core.errors.RepositoryError` (chained) or another
      :class:`~ebonite_core.errors.EboniteError`; messages never include secrets.

    Checksums are the client's business: it hashes files while writing them and checks them on load.

    Optional methods, with defaults: ``records_models`` and ``push_model_files`` (a push that checks the
    model's name, and may record the model, in the same request; the default leaves both to the client),
    ``download_into`` (stream a file into a file object that the client hashes; the default declines),
    ``local_path`` and ``staging_dir`` (for backends on a local file system), ``list_files`` (the files of
    one key, for ``ebonite verify``; the default cannot tell), ``key_written`` (one key's entry of
    ``keys()``, for the check garbage collection makes right before each deletion; the default lists every
    key), ``config`` (the constructor options, for ``Ebonite.save_config``; the default raises
    ``NotImplementedError``), ``clean_leftovers`` (what interrupted operations left behind, for ``ebonite
    gc``; the default finds nothing) and ``close``.
    ``path_options`` names the constructor options that are local paths (resolved relative to a config
    file's directory); ``hide_secrets`` finds the secrets inside option values (see
    :func:`ebonite_core.masking.hide_url_secrets`).

    Write your own::

        class MyArtifactRepository(ArtifactRepository):
            type = "mine"                      # the name users pass to Ebonite.custom_client(artifact=...)

            def push(self, key, files): ...    # {file name: local path} -> stored under key, marker first
            def download(self, key, name, destination): ...
            def delete(self, key): ...         # only a key with its marker (or deletable_key(key, False))
            def keys(self): ...                # only keys with their marker
            def config(self): return {"url": self.url}   # optional: lets save_config write this store
    """

    type: ClassVar[str]
    path_options: ClassVar[tuple[str, ...]] = ()
    #: True when :meth:`push` fsyncs the files it is given: the client then writes the files it stages
    #: through to the disk while it hashes them, so that the push's fsync has little left to wait for.
    sync_staged_files: bool = False

    @abstractmethod
    def push(self, key: str, files: Mapping[str, Path]) -> None:
        """Store each local file of ``files`` (``{file name: path}``) under ``key``."""

    @abstractmethod
    def download(self, key: str, name: str, destination: Path) -> None:
        """Write the stored file ``name`` of ``key`` to the local path ``destination``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove every file stored under ``key`` (and only those)."""

    @abstractmethod
    def keys(self) -> dict[str, datetime]:
        """Every stored key, with the (timezone-aware) time it was last written."""

    def key_written(self, key: str) -> datetime | None:
        """When ``key`` was last written, or ``None`` when it is missing or not provably this store's: the check
        garbage collection makes right before deleting it. The default looks it up in :meth:`keys`; backends
        that can look at one key override it."""
        return self.keys().get(key)

    def records_models(self, metadata: object) -> bool:
        """Whether :meth:`push_model_files` works together with ``metadata`` (the client's metadata
        repository), as a backend that one server keeps together with it does: it refuses, before storing
        anything, a model name that its task already has, and it may record the model in the same request
        as its files. ``False`` (the default): the client checks the name itself before the push and records
        the model after it."""
        return False

    def push_model_files(self, key: str, files: Mapping[str, Path], model: Model, task: Task) -> Model | None:
        """:meth:`push` the files of ``model``, a new model of ``task`` (stored): ``model`` is what the client
        records once the files are stored (its ``artifact_key`` is ``key``, its manifest lists ``files``).

        When :meth:`records_models`, a name the task already has is refused here with
        :class:`~ebonite_core.errors.ExistingModelError` (:meth:`ExistingModelError.taken`) before anything
        is stored, and the model may be recorded here too: return the stored model then, or ``None`` to have
        the client record it. A failure is then handled as a failed metadata write (the client asks the
        store whether the model was stored before it removes the files). The default calls :meth:`push` and
        returns ``None``."""
        self.push(key, files)
        return None

    def download_into(self, key: str, name: str, file: BinaryIO) -> bool:
        """Write the stored file ``name`` of ``key`` into ``file`` (a binary file open for writing, written in
        order) and return ``True``; or return ``False`` without writing (the default: the client calls
        :meth:`download`). Errors as for :meth:`download`.

        The client passes a file that hashes what is written to it, so that a backend streaming the bytes
        here spares the client a second pass over the downloaded file to check it. It writes and hashes on
        threads of its own while the backend receives; ``bytes`` blocks of 4 MiB or more are taken as they
        are, any other buffer is copied (into blocks of 4 MiB, or while the caller waits if it is larger).
        """
        return False

    def local_path(self, key: str, name: str) -> Path | None:
        """A local path where the stored file can be read in place, or ``None`` to make the client download.

        Only backends that keep files on a local file system return a path; it must not be written to.
        """
        return None

    def list_files(self, key: str) -> list[str] | None:
        """The names of the files stored under ``key`` (``[]`` for a missing key), or ``None`` when the
        backend cannot tell (the default). ``ebonite verify`` uses it to find files no manifest lists."""
        return None

    def staging_dir(self) -> Path | None:
        """A local directory where the client writes files before :meth:`push`, or ``None`` for the system's
        temporary directory. Files staged there are handed over: they are never modified after the push, so
        a backend on a local file system can link them into the store instead of copying them."""
        return None

    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this repository: ``type(self)(**repo.config())``.

        Values are JSON data (str, int, float, bool, lists, dicts; leave out options at their default
        rather than returning ``None``, which TOML cannot write). Return secrets as they are: the caller
        masks them by name (``password``, ``secret``, ``token``, ``key``...) and in URLs. Subclasses that
        add constructor options must override this. The default raises ``NotImplementedError``.
        """
        raise NotImplementedError(config_not_supported(self, "artifact"))

    @classmethod
    def hide_secrets(cls, option: str, value: str, hide: Callable[[str, str], str]) -> str:
        """``value`` (of the constructor option ``option``) with every secret inside it replaced by
        ``hide(label, secret)``, for masking and for ``save_config``. The default finds a URL's password and
        secret query parameters with :mod:`urllib.parse` (:func:`ebonite_core.masking.hide_url_secrets`);
        a backend whose driver reads URLs its own way overrides it with the driver's parser. Options named
        like a secret (``password``, ``token``...) are hidden whole before this is asked."""
        return hide_url_secrets(value, hide)

    def clean_leftovers(self, older_than: datetime, dry_run: bool = False) -> list[str]:
        """Remove what interrupted operations of this backend left behind and last wrote before
        ``older_than`` (temporary uploads, half-deleted keys...); return a description of each thing
        removed, or that would be with ``dry_run``. Never touches a stored key (the client removes
        unreferenced keys itself). The default finds nothing.
        """
        return []

    def close(self) -> None:  # noqa: B027 - optional, with a default that does nothing
        """Release connections or files; the default does nothing."""


def config_not_supported(repository: object, kind: str) -> str:
    cls = type(repository)
    return (
        f"The {kind} repository type {getattr(cls, 'type', '?')!r} ({cls.__module__}.{cls.__qualname__}) cannot "
        "describe its constructor options, so it cannot be written to a config file: it needs a config() method."
    )
