"""Open DuckDB database files without letting DuckDB fetch extensions from the network.

Handed a file of another format (a SQLite database set as WAREHOUSE_PATH, say), DuckDB downloads
and loads the extension that reads it. The project reads only DuckDB files, so such a file is
rejected before DuckDB opens it, and every connection turns off the automatic installing and
loading of extensions, which also covers files attached later.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# A DuckDB database file starts with an 8-byte checksum, then these four bytes.
MAGIC = b"DUCK"
MAGIC_OFFSET = 8
SQLITE_HEADER = b"SQLite format 3\x00"
OFFLINE_SETTINGS = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
)


def check_duckdb_file(path: Path | str) -> None:
    """Raise duckdb.IOException when ``path`` exists and contains other than DuckDB data.

    A missing or empty file passes: DuckDB creates a database there.
    """
    try:
        with open(path, "rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except (FileNotFoundError, IsADirectoryError):
        return
    if header and header[MAGIC_OFFSET : MAGIC_OFFSET + len(MAGIC)] != MAGIC:
        kind = " (it is a SQLite database)" if header == SQLITE_HEADER else ""
        raise duckdb.IOException(f"{path} is not a DuckDB database file{kind}")


def connect_duckdb(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file ``path`` with extension downloads turned off."""
    check_duckdb_file(path)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        for statement in OFFLINE_SETTINGS:
            connection.execute(statement)
    except BaseException:
        connection.close()
        raise
    return connection
