"""Keep passwords out of logs, Dagster metadata and error messages.

Connection URLs and web hook tokens come only from environment variables. Any text that may
quote one (a driver's error message, a setting shown to the operator) goes through
``mask_secrets`` first, and a URL is shown only as ``mask_url`` renders it.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"


def mask_url(url: str) -> str:
    """Render ``url`` with its password replaced: ``postgresql://user:***@host:5432/db``.

    A URL that does not parse (a port out of range) is not shown at all.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"<{url.partition(':')[0]} URL not shown: it does not parse>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if port is not None:
        host = f"{host}:{port}"
    netloc = f"{parts.username or ''}:{MASK}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_secrets(text: str, *urls: str | None) -> str:
    """Replace each URL of ``urls`` by its masked form, and its password wherever it appears."""
    for url in filter(None, urls):
        text = text.replace(url, mask_url(url))
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            for form in {password, unquote(password)}:
                text = text.replace(form, MASK)
    return text
