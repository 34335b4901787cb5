"""Colour helpers: readable text on activity colours (WCAG 2 contrast).

Pure functions, no Qt: the grid's delegate and the legend ask `text_colour_for(background)` and
get black or white, whichever gives the higher contrast ratio (at least 4.5:1 for every colour
where either can reach it; see `best_contrast`).
"""

from __future__ import annotations

BLACK = "#000000"
WHITE = "#ffffff"
MIN_CONTRAST = 4.5


def parse_hex(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' (or 'rrggbb', or '#rgb') -> (r, g, b) in 0..255. Bad input -> ValueError."""
    text = colour.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    if len(text) == 8:  # #rrggbbaa: ignore alpha
        text = text[:6]
    if len(text) != 6:
        raise ValueError(f"{colour!r} is not a colour written #rrggbb.")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _channel(c: int) -> float:
    v = c / 255.0
    return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour, 0 (black) .. 1 (white)."""
    r, g, b = parse_hex(colour)
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio between two colours, 1 .. 21."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def text_colour_for(background: str) -> str:
    """Black or white text, whichever contrasts more with `background`.

    For any sRGB colour the better of the two reaches at least 4.58:1 (the worst case is a
    mid-grey of luminance ~0.18), so the 4.5:1 requirement always holds.
    """
    return BLACK if contrast_ratio(background, BLACK) >= contrast_ratio(background, WHITE) else WHITE


def best_contrast(background: str) -> float:
    return contrast_ratio(background, text_colour_for(background))
