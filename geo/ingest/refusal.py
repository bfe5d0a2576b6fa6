"""A whole file refused: the error every reader and check raises, and a library's complaint
made fit for a person.

Its own module so that the checks (:mod:`geo.ingest.file_checks`), the child process that
reads points (:mod:`geo.ingest.sandbox`) and the readers (:mod:`geo.ingest.readers`) share it
without importing each other.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["FileRefused", "error_detail"]


class FileRefused(ValueError):
    """The whole file is refused; ``code`` and ``params`` say why (see messages)."""

    def __init__(self, code: str, **params) -> None:
        from geo.ingest.messages import describe

        super().__init__(describe(code, "en", **params))
        self.code = code
        self.params = params

    def describe(self, lang: str) -> str:
        from geo.ingest.messages import describe

        return describe(self.code, lang, **self.params)

    def named(self, file_name: str) -> FileRefused:
        """The same refusal naming the file ``file_name`` (an upload's own name, not the
        random one it was saved under)."""
        if "file" not in self.params:
            return self
        return FileRefused(self.code, **{**self.params, "file": file_name})


def error_detail(err: Exception, path: Path) -> str:
    """A library's complaint, for a person: without the folder of the file or of any other
    path on the server, without the class name GEOS or GDAL put in front
    ("IllegalArgumentException: ..."), and not too long."""
    text = str(err).strip().replace(str(path.parent) + "/", "").replace(str(path), path.name)
    text = re.sub(r"(?:/[^/\s'\"]+)+/", "", text)  # /srv/app/.venv/lib/x.so → x.so
    text = re.sub(r"^(?:[A-Za-z_.]*(?:Error|Exception)\s*:\s*)+", "", text)
    return (text[:300] + " …" if len(text) > 300 else text) or "damaged file"
