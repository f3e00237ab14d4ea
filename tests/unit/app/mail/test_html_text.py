"""app/mail/html_text.py: readable text from HTML-only emails."""

from __future__ import annotations

import pytest

from app.mail.html_text import html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<div>Line<br>break<br/>again</div>", "Line\nbreak\nagain"),
        ("<ul><li>a</li><li>b <b>bold</b></li></ul>", "- a\n- b bold"),
        ("<ol><li>first<li>second</ol>", "- first\n- second"),
        ('<a href="https://x.example/a">the page</a>', "the page (https://x.example/a)"),
        ('<a href="https://x.example/a">https://x.example/a</a>', "https://x.example/a"),
        ('<a href="mailto:a@b.example">write</a>', "write"),
        ("<head><title>T</title><style>p{}</style></head><p>Body</p>", "Body"),
        ("<script>var x = '<p>no</p>';</script>Yes", "Yes"),
        ("A&amp;B &lt;c&gt; &eacute; &#8364; &nbsp;x", "A&B <c> é € x"),
        ("  lots   of\n\n  space  ", "lots of space"),
        ("<p></p><p></p><p>gap</p><p></p><p></p>", "gap"),
        ("<pre>  keep\n   this</pre>", "  keep\n   this"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\n\nc"),
        ("<p>unclosed <i>tags <b>everywhere", "unclosed tags everywhere"),
        ("", ""),
        ("<<<>>> </p></div>", "<<<>>>"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
