"""ebonite-server: a team registry over HTTP.

- ``http`` metadata and artifact repository types (:mod:`ebonite_server.client`), for clients;
- ``ebonite serve`` and ``ebonite token`` (:mod:`ebonite_server.commands`), for the operator, with the
  ``serve`` extra (``pip install 'ebonite-server[serve]'``).

Importing this package imports neither httpx nor Starlette.
"""

from __future__ import annotations

__version__ = "0.1.0"
