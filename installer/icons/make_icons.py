"""Draw the DynoAI Desktop icon: dynoai.svg, dynoai-<N>.png and the multi-size dynoai.ico.

The mark: a dyno drum (an orange roller with its hub) below a rising power curve (mint), on a
dark slate tile. The shapes are defined once below, in a 256-unit square; the SVG is written
from them and Pillow draws the same shapes for the PNGs (supersampled, then reduced). At 32 px
and below the strokes are drawn heavier and the hub larger, so the mark still reads at 16 px.

    /work/main/.venv/bin/python installer/icons/make_icons.py      (needs Pillow; outputs are
                                                                   committed beside this script)
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
PNG_SIZES = (16, 32, 48, 64, 128, 256)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
SUPERSAMPLE = 8
SMALL_PX = 32  # at or below: heavier strokes

SLATE = "#1c2632"
ORANGE = "#f28a1e"
MINT = "#3ddc97"

TILE = {"x": 8, "y": 8, "size": 240, "radius": 52}
DRUM = {"cx": 170, "cy": 172, "r": 50}
HUB_R = {"large": 14, "small": 18}
# A power curve: steep at low rpm, flattening towards the top right (one cubic Bezier).
CURVE = ((40, 212), (64, 96), (124, 52), (220, 48))
CURVE_WIDTH = {"large": 24, "small": 34}


def bezier_points(points: tuple[tuple[float, float], ...], steps: int = 64
                  ) -> list[tuple[float, float]]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    out = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
        out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


def svg(weight: str = "large") -> str:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = CURVE
    return f"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 256 256" width="256" \
height="256">
  <title>DynoAI Desktop</title>
  <!-- Written by make_icons.py: a dyno drum below a power curve. Edit the script. -->
  <rect x="{TILE['x']}" y="{TILE['y']}" width="{TILE['size']}" height="{TILE['size']}" \
rx="{TILE['radius']}" fill="{SLATE}"/>
  <circle cx="{DRUM['cx']}" cy="{DRUM['cy']}" r="{DRUM['r']}" fill="{ORANGE}"/>
  <circle cx="{DRUM['cx']}" cy="{DRUM['cy']}" r="{HUB_R[weight]}" fill="{SLATE}"/>
  <path d="M{x0} {y0} C{x1} {y1} {x2} {y2} {x3} {y3}" fill="none" stroke="{MINT}" \
stroke-width="{CURVE_WIDTH[weight]}" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
"""


def png(size: int) -> Image.Image:
    weight = "small" if size <= SMALL_PX else "large"
    scale = size * SUPERSAMPLE / 256
    big = Image.new("RGBA", (size * SUPERSAMPLE,) * 2, (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)

    def at(x: float, y: float) -> tuple[float, float]:
        return x * scale, y * scale

    x, y, side = TILE["x"], TILE["y"], TILE["size"]
    draw.rounded_rectangle((*at(x, y), *at(x + side, y + side)), radius=TILE["radius"] * scale,
                           fill=SLATE)
    for r, colour in ((DRUM["r"], ORANGE), (HUB_R[weight], SLATE)):
        draw.ellipse((*at(DRUM["cx"] - r, DRUM["cy"] - r), *at(DRUM["cx"] + r, DRUM["cy"] + r)),
                     fill=colour)
    width = CURVE_WIDTH[weight] * scale
    points = [at(px, py) for px, py in bezier_points(CURVE)]
    draw.line(points, fill=MINT, width=round(width))
    for px, py in points:  # round joins and caps: a smooth stroke where the segments meet
        draw.ellipse((px - width / 2, py - width / 2, px + width / 2, py + width / 2), fill=MINT)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def main() -> int:
    (HERE / "dynoai.svg").write_text(svg(), encoding="utf-8")
    images = {size: png(size) for size in sorted(set(PNG_SIZES) | set(ICO_SIZES))}
    for size in PNG_SIZES:
        images[size].save(HERE / f"dynoai-{size}.png", optimize=True)
    largest = images[max(ICO_SIZES)]
    largest.save(HERE / "dynoai.ico", sizes=[(s, s) for s in ICO_SIZES],
                 append_images=[images[s] for s in ICO_SIZES if s != max(ICO_SIZES)])
    print(f"make_icons: wrote dynoai.svg, {len(PNG_SIZES)} PNGs and dynoai.ico "
          f"({', '.join(map(str, ICO_SIZES))} px) in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
