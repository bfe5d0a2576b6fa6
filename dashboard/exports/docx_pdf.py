"""The Word report as PDF: the DOCX converted by LibreOffice, headless, on this machine.

The Standing Office's report is written once, as DOCX
(:mod:`dashboard.exports.report_docx`); its PDF is that same document as
LibreOffice prints it, so the two never differ in a word. LibreOffice
(``soffice``) is found on the ``PATH`` when the conversion is asked for; when
it is missing, :class:`LibreOfficeNotFound` says what to install, and the
DOCX itself is still there to save as PDF from Word.

Each conversion runs with a profile folder of its own (LibreOffice refuses
a second instance on one profile) and nothing leaves the machine.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["LibreOfficeNotFound", "docx_to_pdf", "soffice"]

#: Seconds a conversion may take (a cold LibreOffice start on a busy machine is ~10 s).
TIMEOUT = 180


class LibreOfficeNotFound(RuntimeError):
    """LibreOffice is not installed, or the conversion failed; the message says what to do."""


def soffice() -> str | None:
    """The LibreOffice program on the ``PATH`` (``soffice`` or ``libreoffice``), or ``None``."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(docx: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """Convert a DOCX document to PDF with LibreOffice headless.

    Parameters
    ----------
    docx : bytes
        The document (as :func:`dashboard.exports.report_docx.report_docx` returns it).
    timeout : float
        Seconds before the conversion is abandoned.

    Returns
    -------
    bytes
        The PDF.

    Raises
    ------
    ValueError
        ``docx`` is not a DOCX (Office Open XML is a zip file): LibreOffice would
        print an empty page for it rather than refuse it.
    LibreOfficeNotFound
        LibreOffice is not installed, timed out, or wrote no PDF.
    """
    if not docx.startswith(b"PK\x03\x04"):
        raise ValueError("not a DOCX document (a DOCX file is a zip archive)")
    program = soffice()
    if program is None:
        raise LibreOfficeNotFound(
            "LibreOffice (soffice) is not installed on the server, so the Word report "
            "cannot be converted to PDF here: install it (Debian: apt-get install "
            "libreoffice-writer-nogui), or download the Word (DOCX) report and save it as PDF.")
    with tempfile.TemporaryDirectory(prefix="borderwatch-docx-pdf-") as folder:
        work = Path(folder)
        source = work / "bao_cao.docx"
        source.write_bytes(docx)
        try:
            done = subprocess.run(
                [program, "--headless", "--norestore", "--nolockcheck",
                 f"-env:UserInstallation={(work / 'profile').as_uri()}",
                 "--convert-to", "pdf", "--outdir", str(work), str(source)],
                capture_output=True, timeout=timeout, check=False, cwd=work)
        except subprocess.TimeoutExpired:
            raise LibreOfficeNotFound(
                f"LibreOffice did not convert the report within {timeout:.0f} s") from None
        pdf = work / "bao_cao.pdf"
        if done.returncode != 0 or not pdf.is_file():
            detail = (done.stderr or done.stdout).decode("utf-8", "replace").strip()[-300:]
            raise LibreOfficeNotFound(
                f"LibreOffice could not convert the report to PDF (exit {done.returncode}): "
                f"{detail or 'no PDF written'}")
        return pdf.read_bytes()
