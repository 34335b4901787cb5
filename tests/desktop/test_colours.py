from __future__ import annotations

import itertools

import pytest

from desktop.colours import BLACK, WHITE, contrast_ratio, relative_luminance, text_colour_for


def test_luminance_and_contrast_known_values():
    assert relative_luminance("#000000") == 0.0
    assert relative_luminance("#ffffff") == pytest.approx(1.0)
    assert contrast_ratio(BLACK, WHITE) == pytest.approx(21.0)
    assert contrast_ratio("#4f81bd", "#4f81bd") == pytest.approx(1.0)
    # WCAG's published example: #767676 on white is 4.54:1
    assert contrast_ratio("#767676", WHITE) == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#abc", "#aabbcc") == pytest.approx(1.0)


def test_dark_colours_get_white_text_and_light_ones_black():
    assert text_colour_for("#1f497d") == WHITE
    assert text_colour_for("#3f3151") == WHITE
    assert text_colour_for("#ffff99") == BLACK
    assert text_colour_for("#ffffff") == BLACK


def test_every_colour_keeps_at_least_4_5_to_1():
    steps = range(0, 256, 17)
    worst = min(contrast_ratio(c, text_colour_for(c))
                for c in (f"#{r:02x}{g:02x}{b:02x}" for r, g, b in itertools.product(steps, steps, steps)))
    assert worst >= 4.5


def test_bad_colour_is_refused():
    with pytest.raises(ValueError):
        relative_luminance("blue")
