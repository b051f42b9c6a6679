"""Render a report page in headless Chromium and read back what a reader would see: words split across lines,
cells narrower than their content, the page's width. Shared by the leaderboard, compare and browse tests."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: install the Debian package "
                                                             "`chromium` to render the page in this test")

PHONE_WIDTH = 500  # the narrowest window headless Chromium opens; a phone's 390 px is checked by screenshot

# Every word of every table cell must sit on one line, and no cell may be narrower than what it holds.
PROBE = """<script>
(() => {
  const broken = [], squeezed = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
    if (cell.scrollWidth > cell.clientWidth + 1) squeezed.push(cell.textContent);
  }
  document.body.dataset.probe = JSON.stringify({broken, squeezed,
    scrollWidth: document.scrollingElement.scrollWidth});
})();
</script>"""


def browser(profile: Path, width: int) -> list[str]:
    return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--window-size={width},900"]


def probe_page(html: str, folder: Path, width: int = 1280) -> tuple[str, dict[str, Any]]:
    """The rendered DOM of `html` at `width` pixels, and the probe's findings."""
    page = folder / f"probe_{width}.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run([*browser(folder / "profile", width), "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the probe did not run"
    return dom, json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def screenshot(page: Path, shot: Path, width: int, height: int, profile: Path) -> None:
    subprocess.run([*browser(profile, width)[:-1], f"--window-size={width},{height}", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
