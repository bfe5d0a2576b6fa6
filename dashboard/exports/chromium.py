"""The headless Chromium every export prints or draws with: where it is, how it starts.

Two exports drive Debian's Chromium (package ``chromium``; never a downloaded browser):
the static maps (:mod:`dashboard.exports.static`, through kaleido) and the
quarterly report (:mod:`dashboard.exports.report`, printed to PDF through
Playwright). Both find the browser with :func:`chromium_path`, run their
coroutine with :func:`run_blocking` (from plain code and from inside a running
event loop, as in a Dash callback), and the report prints with
:func:`html_to_pdf`.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = [
    "A4_MARGINS",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "ChromiumNotFound",
    "chromium_path",
    "html_to_pdf",
    "run_blocking",
]

#: Debian's Chromium (package ``chromium``), the browser kaleido and Playwright drive.
CHROMIUM = Path("/usr/bin/chromium")
#: Flags of the headless Chromium that prints a PDF (no network chatter, no updates).
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)
#: Page margins (mm) of a printed A4 page: the footer lives in the bottom one.
A4_MARGINS = {"top": "14mm", "right": "15mm", "bottom": "26mm", "left": "15mm"}


class ChromiumNotFound(FileNotFoundError):
    """The Chromium an export drives is not installed where we look."""


def chromium_path(browser: str | os.PathLike | None = None) -> Path:
    """The Chromium executable to drive: ``browser``, else :data:`CHROMIUM`.

    Raises
    ------
    ChromiumNotFound
        When it is not an executable file (the message says how to install it).

    Examples
    --------
    >>> chromium_path("/nowhere/chromium")
    Traceback (most recent call last):
    ...
    dashboard.exports.chromium.ChromiumNotFound: the exports need Chromium at /nowhere/chromium, and none is there: install Debian's package (apt-get install chromium) or pass browser=<path to chromium>. Borderwatch never downloads a browser.
    """
    path = Path(browser) if browser is not None else CHROMIUM
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ChromiumNotFound(
            f"the exports need Chromium at {path}, and none is there: install Debian's "
            "package (apt-get install chromium) or pass browser=<path to chromium>. "
            "Borderwatch never downloads a browser."
        )
    return path


def run_blocking(make_coro):
    """Run the coroutine ``make_coro()`` to completion from sync code, also when an event
    loop is already running in this thread (then in a worker thread of its own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coro())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coro())).result()


def html_to_pdf(page: str, *, footer: str = "", browser: str | os.PathLike | None = None,
              timeout: float = 60.0) -> bytes:
    """Print an HTML document to an A4 PDF with headless Chromium (Playwright).

    Parameters
    ----------
    page : str
        A self-contained HTML document (images as data URIs: nothing is fetched).
    footer : str
        Chromium's footer template: HTML whose ``<span class="pageNumber">`` and
        ``<span class="totalPages">`` are filled in on each page; none when empty.
    browser : path, optional
        The Chromium executable (:func:`chromium_path`).
    timeout : float
        Seconds allowed to load the page.

    Returns
    -------
    bytes
        The PDF, margins :data:`A4_MARGINS`, backgrounds printed.
    """
    path = chromium_path(browser)

    async def render() -> bytes:
        from playwright.async_api import async_playwright  # heavy: only when printing

        async with async_playwright() as pw:
            chromium = await pw.chromium.launch(executable_path=str(path),
                                                args=list(CHROMIUM_ARGS))
            try:
                tab = await chromium.new_page()
                await tab.set_content(page, wait_until="load", timeout=timeout * 1000)
                return await tab.pdf(
                    format="A4", print_background=True, margin=A4_MARGINS,
                    display_header_footer=True, header_template="<span></span>",
                    footer_template=footer or "<span></span>",
                )
            finally:
                await chromium.close()

    return run_blocking(render)
