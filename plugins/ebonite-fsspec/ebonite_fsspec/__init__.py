"""ebonite-fsspec: the ``fsspec`` artifact repository for ebonite-core (FTP, SFTP, WebDAV, Azure Blob, GCS,
``memory://`` and ``file://``, through fsspec).

Importing this package imports neither fsspec nor a protocol's package: the backend class lives in
:mod:`ebonite_fsspec.repository`, and it imports the protocol's package when a repository is built.
"""

from __future__ import annotations

__version__ = "0.1.0"
