"""Draws the example images of the Edit and Inpaint tabs: white shapes on black (like MNIST and Fashion-MNIST) and
colour shapes on white (like the emoji model's pictures).

    python -m demo.example_images        # writes demo/examples/*.png

Drawn by code, so no image from a data set is copied into the repository.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SIZE = 112  # drawn at 4x the models' 28 px, then softened; the pipeline resizes to the model's size
EXAMPLES_DIR = Path(__file__).parent / "examples"
Draw = Callable[[ImageDraw.ImageDraw], None]


def _zero(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((30, 14, 82, 98), outline=255, width=12)


def _one(d: ImageDraw.ImageDraw) -> None:
    d.line((50, 26, 62, 14, 62, 98), fill=255, width=12, joint="curve")


def _seven(d: ImageDraw.ImageDraw) -> None:
    d.line((28, 20, 84, 20, 48, 98), fill=255, width=12, joint="curve")


def _three(d: ImageDraw.ImageDraw) -> None:
    d.arc((32, 14, 80, 58), start=200, end=90, fill=255, width=11)
    d.arc((28, 52, 82, 100), start=270, end=160, fill=255, width=11)


def _tshirt(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(36, 14), (48, 20), (64, 20), (76, 14), (102, 32), (92, 50), (80, 44), (80, 100), (32, 100),
               (32, 44), (20, 50), (10, 32)], fill=220)  # fmt: skip


def _trousers(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(34, 10), (78, 10), (84, 102), (64, 102), (56, 40), (48, 102), (28, 102)], fill=200)


def _bag(d: ImageDraw.ImageDraw) -> None:
    d.arc((36, 12, 76, 56), start=180, end=360, fill=230, width=7)
    d.rectangle((18, 34, 94, 96), fill=190)


def _sneaker(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(8, 62), (40, 56), (60, 40), (74, 46), (104, 74), (104, 88), (8, 88)], fill=210)
    d.rectangle((8, 84, 104, 92), fill=255)


def _smiley(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((10, 10, 102, 102), fill=(253, 203, 68), outline=(210, 150, 30), width=3)
    d.ellipse((36, 36, 48, 54), fill=(90, 60, 30))
    d.ellipse((64, 36, 76, 54), fill=(90, 60, 30))
    d.arc((30, 44, 82, 86), start=20, end=160, fill=(90, 60, 30), width=6)


def _apple(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((18, 30, 94, 104), fill=(214, 40, 40))
    d.line((56, 34, 60, 14), fill=(110, 70, 30), width=5)
    d.ellipse((60, 12, 84, 28), fill=(67, 160, 71))


def _heart(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((14, 22, 60, 66), fill=(229, 57, 53))
    d.ellipse((52, 22, 98, 66), fill=(229, 57, 53))
    d.polygon([(17, 54), (95, 54), (56, 98)], fill=(229, 57, 53))


def _flag(d: ImageDraw.ImageDraw) -> None:
    for k, colour in enumerate([(0, 85, 164), (255, 255, 255), (239, 65, 53)]):  # three vertical stripes
        d.rectangle((8 + 32 * k, 24, 8 + 32 * (k + 1), 88), fill=colour)
    d.rectangle((8, 24, 104, 88), outline=(120, 120, 120), width=2)


GRAY: dict[str, Draw] = {
    "digit-0": _zero, "digit-1": _one, "digit-3": _three, "digit-7": _seven,
    "tshirt": _tshirt, "trousers": _trousers, "bag": _bag, "sneaker": _sneaker,
}  # fmt: skip
COLOUR: dict[str, Draw] = {"smiley": _smiley, "apple": _apple, "heart": _heart, "flag": _flag}
EXAMPLES: dict[str, Draw] = {**GRAY, **COLOUR}


def draw(name: str) -> Image.Image:
    """One example as a SIZE x SIZE image: grayscale white on black, or RGB colour on white."""
    im = Image.new("RGB", (SIZE, SIZE), "white") if name in COLOUR else Image.new("L", (SIZE, SIZE), 0)
    EXAMPLES[name](ImageDraw.Draw(im))
    return im.filter(ImageFilter.GaussianBlur(1.5 if name in GRAY else 1.0))


def example_paths() -> list[str]:
    """The example PNGs that exist, in the order they are drawn (digits, clothes, then the colour ones)."""
    return [str(p) for p in (EXAMPLES_DIR / f"{name}.png" for name in EXAMPLES) if p.is_file()]


def write_examples(folder: str | Path = EXAMPLES_DIR) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in EXAMPLES:
        path = folder / f"{name}.png"
        draw(name).save(path, optimize=True)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_examples():
        print(p)
