"""Every page's <title> is a short line of text: a template whose title block swallowed
part of the page (an unclosed block) shows that part in the browser tab and in screen
readers' page announcements, and leaves it out of the page itself."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TITLE_BLOCK = re.compile(r"{% block title %}(.*?){% endblock(?: title)? %}", re.S)


def test_title_blocks_hold_text_only():
    checked, wrong = 0, []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for title in TITLE_BLOCK.findall(template.read_text()):
            checked += 1
            if "<" in title or "\n" in title.strip():
                wrong.append(f"{template.relative_to(TEMPLATES)}: {title[:80]!r}")
    assert checked > 40, f"only {checked} title blocks found under {TEMPLATES}"
    assert wrong == []
