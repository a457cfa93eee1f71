"""Text colours against their backgrounds, read from the stylesheet: WCAG 2.1 AA, at least 4.5:1
for every badge and every rule that colours text (muted text, hints, statuses, warnings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parent.parent / "casework" / "static" / "casework.css").read_text(encoding="utf-8")
AA = 4.5
PAGE_BACKGROUNDS = ("#ffffff", "var(--bg)")  # cards are white, the page behind them --bg
HEX = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?\b")


def _variables() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", CSS).group(1)
    return dict(re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", root))


VARS = _variables()


def _colour(value: str) -> str | None:
    value = value.strip()
    while value.startswith("var("):
        value = VARS.get(value[4:-1].strip(), "")
    found = HEX.fullmatch(value.split()[0]) if value else None
    if not found:
        return None
    text = found.group(0).lower()
    return "#" + "".join(c * 2 for c in text[1:]) if len(text) == 4 else text


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _rules() -> list[tuple[str, dict[str, str]]]:
    body = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    body = re.sub(r"@media[^{]*{", "", body)  # media blocks: their rules count as well
    rules = []
    for selector, declarations in re.findall(r"([^{}]+){([^{}]*)}", body):
        props = dict((k.strip(), v.strip()) for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+)", declarations))
        for one in selector.split(","):
            rules.append((one.strip(), props))
    return rules


def _pairs() -> list[tuple[str, str, str]]:
    """(selector, text colour, background) for every rule that sets a text colour."""
    badge_text = next(_colour(p["color"]) for s, p in _rules() if s == ".badge")
    pairs = []
    for selector, props in _rules():
        fg = _colour(props["color"]) if "color" in props else None
        bg = _colour(props.get("background", props.get("background-color", "")))
        if selector.startswith(".badge") and fg is None and bg is not None:
            fg = badge_text  # a badge variant that changes only the background keeps white text
        if fg is None:
            continue
        if bg is not None:
            pairs.append((selector, fg, bg))
        else:
            pairs += [(selector, fg, _colour(page)) for page in PAGE_BACKGROUNDS]
    return pairs


def test_the_stylesheet_is_read():
    assert len(_pairs()) > 20 and any(s == ".badge.muted" for s, _fg, _bg in _pairs())


@pytest.mark.parametrize(("selector", "fg", "bg"), _pairs(), ids=lambda v: str(v))
def test_text_meets_wcag_aa_against_its_background(selector, fg, bg):
    ratio = contrast(fg, bg)
    assert ratio >= AA, f"{selector}: {fg} on {bg} is {ratio:.2f}:1, below {AA}:1"
