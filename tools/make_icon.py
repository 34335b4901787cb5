#!/usr/bin/env python3
"""Draw the program's icon: resources/residency-scheduler.svg and .png (256 px).

    .venv/bin/python tools/make_icon.py

A calendar page (blue header with two rings, a 4 x 3 grid of half-day cells, some filled) with a
green check mark: "a schedule that keeps the rules". The same shapes are written as SVG and painted
with QPainter for the PNG (QT_QPA_PLATFORM=offscreen is enough). Both files are committed; run this
again only to change the icon.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources"
SIZE = 256

PAGE = (24, 36, 208, 196, 24)  # x, y, w, h, corner radius
HEADER_H = 52
BLUE, DARK, LIGHT, GREEN, WHITE = "#2f6db5", "#1f4e85", "#dbe7f5", "#2e9b4f", "#ffffff"
RINGS = ((76, 26), (180, 26))  # centres; 12 x 28 rounded bars
FILLED = {(0, 0), (1, 1), (2, 0), (3, 2), (1, 2)}


def cells() -> list[tuple[int, int, int, int, bool]]:
    x0, y0, w, h = PAGE[0] + 20, PAGE[1] + HEADER_H + 16, 40, 32
    return [(x0 + c * (w + 4), y0 + r * (h + 8), w, h, (c, r) in FILLED) for r in range(3) for c in range(4)]


CHECK = ((132, 192), (164, 222), (226, 150))


def svg() -> str:
    x, y, w, h, rad = PAGE
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">',
        "<title>Residency Scheduler</title>",
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rad}" fill="{WHITE}" stroke="{DARK}" stroke-width="8"/>',
        f'<path d="M{x} {y + rad} a{rad} {rad} 0 0 1 {rad} -{rad} h{w - 2 * rad} a{rad} {rad} 0 0 1 {rad} {rad} '
        f'v{HEADER_H - rad} h-{w} z" fill="{BLUE}" stroke="{DARK}" stroke-width="8"/>',
    ]
    for cx, cy in RINGS:
        parts.append(f'<rect x="{cx - 6}" y="{cy - 14 + 10}" width="12" height="28" rx="6" fill="{DARK}"/>')
    for cx, cy, cw, ch, filled in cells():
        parts.append(f'<rect x="{cx}" y="{cy}" width="{cw}" height="{ch}" rx="4" fill="{BLUE if filled else LIGHT}"/>')
    (ax, ay), (bx, by), (ex, ey) = CHECK
    parts.append(f'<polyline points="{ax},{ay} {bx},{by} {ex},{ey}" fill="none" stroke="{WHITE}" '
                 'stroke-width="34" stroke-linecap="round" stroke-linejoin="round"/>')
    parts.append(f'<polyline points="{ax},{ay} {bx},{by} {ex},{ey}" fill="none" stroke="{GREEN}" '
                 'stroke-width="20" stroke-linecap="round" stroke-linejoin="round"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(path: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen, QPolygonF

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    image = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    x, y, w, h, rad = PAGE
    p.setPen(QPen(QColor(DARK), 8))
    p.setBrush(QColor(WHITE))
    p.drawRoundedRect(QRectF(x, y, w, h), rad, rad)
    header = QPainterPath()
    header.moveTo(x, y + HEADER_H)
    header.lineTo(x, y + rad)
    header.arcTo(QRectF(x, y, 2 * rad, 2 * rad), 180, -90)
    header.lineTo(x + w - rad, y)
    header.arcTo(QRectF(x + w - 2 * rad, y, 2 * rad, 2 * rad), 90, -90)
    header.lineTo(x + w, y + HEADER_H)
    header.closeSubpath()
    p.setBrush(QColor(BLUE))
    p.drawPath(header)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(DARK))
    for cx, cy in RINGS:
        p.drawRoundedRect(QRectF(cx - 6, cy - 4, 12, 28), 6, 6)
    for cx, cy, cw, ch, filled in cells():
        p.setBrush(QBrush(QColor(BLUE if filled else LIGHT)))
        p.drawRoundedRect(QRectF(cx, cy, cw, ch), 4, 4)
    line = QPolygonF([QPointF(px, py) for px, py in CHECK])
    for colour, width in ((WHITE, 34), (GREEN, 20)):
        pen = QPen(QColor(colour), width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPolyline(line)
    p.end()
    if not image.save(str(path)):
        raise SystemExit(f"could not write {path}")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    (OUT / "residency-scheduler.svg").write_text(svg(), encoding="utf-8")
    png(OUT / "residency-scheduler.png")
    print(f"wrote {OUT / 'residency-scheduler.svg'} and {OUT / 'residency-scheduler.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
