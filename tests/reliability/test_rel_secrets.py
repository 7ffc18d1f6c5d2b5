"""Secrets over every output path: a database password of any printable characters, in the URL's user part
(percent-encoded, or as typed where SQLAlchemy reads it so) and as libpq's ``?password=``, never shows in a
repr, a saved config (which still reads back to the same URL), an error with its traceback, a log line of the
command, or anything the command prints.

Property-based: every password holds three random markers around hypothesis's text, so that a password
masked only in part (up to a ``/``, a ``#``, an ``@``...) is caught.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_report import FaultRecord
from sqlalchemy import make_url

from ebonite_core import Ebonite, RepositoryError
from ebonite_core.cli.main import _TerminalFormatter, main

# Any printable ASCII, and the characters that end a password for a naive URL parser, certainly.
PRINTABLE = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10),
    st.sampled_from(["/", "#", "@", "?", "%", "%40", ":", " ", "&", "=", "+", "s3/cr#t"]),
)
LETTERS = string.ascii_letters + string.digits


def _marker() -> str:
    return "M" + "".join(secrets.choice(LETTERS) for _ in range(7))


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_database_passwords_never_show_on_any_output_path(
    postgresql: Any,
    new_database: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: Callable[..., FaultRecord],
) -> None:
    record = fault(
        "secrets",
        "hypothesis: passwords of printable characters in a database URL (x 6 output paths)",
        "postgresql + inmemory",
    )
    database = new_database("postgresql")

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(parts=st.tuples(PRINTABLE, PRINTABLE), raw=st.booleans(), in_query=st.booleans())
    def check(parts: tuple[str, str], raw: bool, in_query: bool) -> None:
        markers = [_marker() for _ in range(3)]
        password = f"{markers[0]}{parts[0]}{markers[1]}{parts[1]}{markers[2]}"
        as_written = password if raw and "@" not in password and "%" not in password else quote(password, safe="")
        if in_query:  # libpq's password parameter; the user part carries a decoy
            url = postgresql.socket_url(database, "decoy", f"password={quote_plus(password)}")
        else:
            url = postgresql.socket_url(database, as_written)
        shown: list[str] = []

        ebnt = Ebonite.custom_client("sqlalchemy", "inmemory", meta_kwargs={"db_uri": url})
        try:
            shown += [repr(ebnt), str(ebnt), repr(ebnt.meta_repo)]
            config = tmp_path / "saved.json"
            needed = ebnt.save_config(config)
        finally:
            ebnt.close()
        shown.append(config.read_text())
        values = {  # each secret as the URL writes it
            "EBONITE_METADATA_DB_URI_PASSWORD": "decoy" if in_query else as_written,
            "EBONITE_METADATA_DB_URI_QUERY_PASSWORD": quote(password, safe=""),
        }
        assert needed == sorted(values)[: 2 if in_query else 1]
        for variable in needed:
            monkeypatch.setenv(variable, values[variable])
        reread = Ebonite.from_config(config)
        try:
            assert make_url(reread.meta_repo.config()["db_uri"]) == make_url(url), config.read_text()
        finally:
            reread.close()
        assert main(["db", "current", "--config", str(config)]) == 0

        unreachable = url.replace(f"port={postgresql.port}", "port=1")
        with pytest.raises(RepositoryError) as raised:
            Ebonite.custom_client("sqlalchemy", "inmemory", meta_kwargs={"db_uri": unreachable})
        shown.append("".join(traceback.format_exception(raised.value)))
        config.write_text(
            json.dumps(
                {"metadata": {"type": "sqlalchemy", "db_uri": unreachable}, **{"artifact": {"type": "inmemory"}}}
            )
        )
        assert main(["ls", "--config", str(config)]) == 1
        printed = capsys.readouterr()
        shown += [printed.out, printed.err]
        line = logging.LogRecord("backend", logging.WARNING, __file__, 1, "lost %s", (url,), None)
        shown.append(_TerminalFormatter("%(message)s").format(line))  # what the command logs

        for text in shown:
            assert not any(marker in text for marker in markers), (password, text)
        record.runs += 6

    check()
