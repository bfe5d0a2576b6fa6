"""User text inside figures and maps, escaped once so that it shows as typed, never as markup.

Plotly draws a subset of HTML in titles, annotations, hover text, legend names
and tick labels (``<a href>``, ``<b>``, ``<br>`` …), and folium's tooltips and
popups are HTML: a source, agency, commune or file name read from an import
must reach either only through :func:`plain_text`.
"""

from __future__ import annotations

import re

__all__ = ["plain_text"]

# Plotly decodes &amp; &lt; &gt; and numeric entities, not &quot;: quotes are numeric.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}
_SPECIAL = re.compile("[&<>\"']")


def plain_text(value) -> str:
    """``value`` as text that Plotly and HTML both show exactly as it was typed.

    Parameters
    ----------
    value : object
        A user string (``None`` reads as empty; anything else through ``str``).

    Returns
    -------
    str
        The text with ``& < > " '`` written as entities.

    Examples
    --------
    >>> plain_text('<a href="http://evil">x</a>')
    '&lt;a href=&#34;http://evil&#34;&gt;x&lt;/a&gt;'
    >>> plain_text("Mộc Bài"), plain_text(None)
    ('Mộc Bài', '')
    """
    if value is None:
        return ""
    return _SPECIAL.sub(lambda m: _ENTITIES[m.group()], str(value))
