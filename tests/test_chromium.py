"""The headless Chromium the exports drive: found or refused, run from any caller, printing."""

from __future__ import annotations

import asyncio
import io

import pytest
from pypdf import PdfReader

from dashboard.exports.chromium import ChromiumNotFound, chromium_path, html_to_pdf, run_blocking
from tests.browser import CHROMIUM


def test_a_missing_or_not_executable_browser_is_refused_with_how_to_install_it(tmp_path):
    with pytest.raises(ChromiumNotFound, match=r"apt-get install chromium"):
        chromium_path(tmp_path / "chromium")
    plain = tmp_path / "not-executable"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(ChromiumNotFound, match="not-executable"):
        chromium_path(plain)
    assert issubclass(ChromiumNotFound, FileNotFoundError)


def test_the_browser_found_is_the_one_asked_for():
    assert str(chromium_path(CHROMIUM)) == str(CHROMIUM)


async def _answer(x):
    await asyncio.sleep(0)
    return x * 2


def test_a_coroutine_runs_from_plain_code_and_from_inside_a_running_loop():
    assert run_blocking(lambda: _answer(21)) == 42

    async def inside():  # as in a callback served by an event loop
        return run_blocking(lambda: _answer(4))

    assert asyncio.run(inside()) == 8


def test_an_html_page_is_printed_on_a4_with_its_footer_on_every_page():
    page = ('<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
            "section { break-before: page; }</style></head><body>"
            "<p>Báo cáo quý III/2025</p><section><p>Trang hai</p></section></body></html>")
    footer = ('<div style="font-size:8pt">Trang <span class="pageNumber"></span>/'
              '<span class="totalPages"></span></div>')
    pdf = PdfReader(io.BytesIO(html_to_pdf(page, footer=footer, browser=CHROMIUM)))
    assert len(pdf.pages) == 2
    width, height = (float(v) for v in pdf.pages[0].mediabox[2:])
    assert (round(width * 25.4 / 72), round(height * 25.4 / 72)) == (210, 297)
    texts = [p.extract_text() for p in pdf.pages]
    assert "Báo cáo quý III/2025" in texts[0] and "Trang 1/2" in texts[0]
    assert "Trang hai" in texts[1] and "Trang 2/2" in texts[1]
