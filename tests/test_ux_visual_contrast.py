"""Contrast and colour-vision checks computed from the theme's own constants (issue 18, item 10).

WCAG 2.2: text needs 4.5:1 against its background (1.4.3), lines, bars and markers 3:1 (1.4.11).
Colour-blind safety: the two groups' colours stay clearly apart under simulated protanopia,
deuteranopia and tritanopia (Machado, Oliveira & Fernandes 2009, severity 1, applied in linear sRGB),
measured as CIELAB ΔE*76.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from analysis.figures import theme
from analysis.schema import GROUP_CONTROL, GROUP_PA, GROUPS
from tests.conftest import ROOT

# Streamlit draws st.caption text at this opacity over the page (measured in the browser: the
# caption container's computed opacity; tests/e2e/test_ux_visual_keyboard.py checks it as rendered).
STREAMLIT_CAPTION_OPACITY = 0.6

MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def _linear(colour: str) -> np.ndarray:
    c = np.array([int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    rgb = np.clip(linear_rgb, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _blend(colour: str, opacity: float, background: str = "#FFFFFF") -> str:
    fg = [int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]
    bg = [int(background.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(opacity * f + (1 - opacity) * b):02X}" for f, b in zip(fg, bg, strict=True))


def test_contrast_ratio_matches_wcag_worked_values():
    assert theme.contrast_ratio("#000000") == pytest.approx(21.0)
    assert theme.contrast_ratio("#FFFFFF") == pytest.approx(1.0)
    assert theme.contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)  # the classic AA grey
    assert theme.contrast_ratio("#E69F00") == pytest.approx(2.25, abs=0.01)  # Okabe-Ito orange: too faint


@pytest.mark.parametrize("group", GROUPS)
def test_group_colours_are_visible_lines_and_their_ink_is_readable_text(group):
    assert theme.contrast_ratio(theme.GROUP_COLOURS[group]) >= theme.MIN_GRAPHIC_CONTRAST
    assert theme.contrast_ratio(theme.GROUP_INK[group]) >= theme.MIN_TEXT_CONTRAST
    # A value written on a group's bar.
    assert theme.contrast_ratio(theme.GROUP_TEXT_COLOURS[group], theme.GROUP_COLOURS[group]) >= theme.MIN_TEXT_CONTRAST


def test_reference_lines_and_their_labels_are_readable():
    assert theme.contrast_ratio(theme.REFERENCE_COLOUR) >= theme.MIN_TEXT_CONTRAST


def test_the_control_colour_is_still_an_orange():
    r, g, b = (int(theme.CONTROL_ORANGE.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    assert r > g > b  # the Okabe-Ito hue, darkened


@pytest.mark.parametrize("vision", sorted(MACHADO))
def test_the_groups_stay_apart_for_colour_blind_readers(vision):
    matrix = np.array(MACHADO[vision])
    pa, control = (_lab(matrix @ _linear(theme.GROUP_COLOURS[g])) for g in (GROUP_PA, GROUP_CONTROL))
    assert np.linalg.norm(pa - control) >= 40, vision  # ΔE*76 ≥ 40: unmistakably different


def test_captions_carrying_the_caveats_are_readable():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    text = config["theme"]["textColor"]
    caption = _blend(text, STREAMLIT_CAPTION_OPACITY)
    assert theme.contrast_ratio(caption) >= theme.MIN_TEXT_CONTRAST, caption
    assert theme.contrast_ratio(text) >= 7  # body text: AAA


def test_the_chart_toolbar_is_one_button():
    config = theme.chart_config("x")
    assert config["modeBarButtons"] == [["toImage"]]  # not plotly's eight tab stops per chart
