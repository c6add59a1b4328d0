"""Bad input at every endpoint of a launched app.py: numbers, strings and pictures that a browser, a script or a
curious student may send, each over a real gradio_client. Not a test (it runs minutes).

Each case takes a valid call at the app's defaults and replaces one or two arguments, drawn by a seeded random
generator from lists of odd values (NaN, inf, 2**63, path-like and huge strings, ...) and of odd pictures (1x1, 4000 px,
16-bit, CMYK, float, animated, truncated, empty, SVG, a decompression bomb, masks of other sizes).

For every case the outcome is one of
- ok: the app answered normally (the input was odd but allowed, e.g. steps 1 or a 1x1 picture that is resized);
- refused: the app answered with an error that says what is allowed (an AppError carrying a message);
- CRASH: anything else (an exception the app did not explain, which Gradio reports as "has raised an exception but
  has not enabled verbose error reporting"; a connection failure; a server that stopped answering).

After every case the server must still answer its /config, and after every ``--check-every`` cases a real Generate
must still return a picture. Prints the count of cases per endpoint and outcome; exits 1 on any CRASH.

    python benchmarks/bad_input_campaign.py                  # 40 cases per endpoint on the shipped checkpoints
    python benchmarks/bad_input_campaign.py --cases 200 --seed 1
"""

from __future__ import annotations

import argparse
import collections
import io
import random
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_server import launch, tree_rss_mb
from app_workload import Workload, editor_value
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

IMAGE_PARAMS = ("upload",)  # gr.Image inputs (the ImageEditor ones are dicts and handled as such)
# JSON (what gradio_client and a browser send) has no NaN or infinity: those go as strings, as a crafted request could
NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63), 1e308, -1e308, "nan", "inf", "-inf", 0.5, 1e-9, 3.7, 1001, 10**6]
STRINGS = ["", " ", "abc", "../../etc/passwd", "/etc/passwd", "C:\\Windows\\win.ini", "%s%n", "'; DROP TABLE x;--",
           "\x00", "数字", "🙂" * 50, "a" * 10_000, "1e400", "NaN", "-0", "None", "null", "true", "[]", "{}"]  # fmt: skip


def picture_files(folder: Path) -> list[tuple[str, Path]]:
    """Pictures a student may upload, as files: odd modes and sizes, broken files, a decompression bomb, an SVG."""
    out: list[tuple[str, Path]] = []

    def save(name: str, im: Image.Image, fmt: str = "PNG", **kw: Any) -> None:
        path = folder / f"{name}.{fmt.lower()}"
        im.save(path, format=fmt, **kw)
        out.append((name, path))

    rng = np.random.default_rng(0)
    save("1x1", Image.new("RGB", (1, 1), "white"))
    save("2x3", Image.new("L", (2, 3), 200))
    save("wide", Image.new("RGB", (300, 20), "red"))
    save("huge-4000", Image.new("L", (4000, 4000), 0))
    save("16-bit", Image.fromarray((rng.random((40, 40)) * 65535).astype(np.uint16)))
    save("cmyk", Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG")
    save("rgba-transparent", Image.new("RGBA", (40, 40), (0, 0, 0, 0)))
    save("palette", Image.new("P", (40, 40), 3))
    save("float-F", Image.fromarray(rng.random((32, 32)).astype(np.float32)), "TIFF")
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "green", "blue")]
    path = folder / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    out.append(("animated-gif", path))
    png = io.BytesIO()
    Image.new("RGB", (64, 64), "blue").save(png, format="PNG")
    for name, data in (("truncated", png.getvalue()[: len(png.getvalue()) // 2]), ("empty", b""),
                       ("not-an-image", b"hello, I am text"),
                       ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
                               b'<circle cx="14" cy="14" r="10" fill="white"/></svg>')):  # fmt: skip
        path = folder / f"{name}.png"
        path.write_bytes(data)
        out.append((name, path))
    # a decompression bomb: a small file that claims 30,000 x 30,000 pixels (900 MP, past PIL's 179 MP bomb limit)
    bomb = Image.new("1", (30_000, 30_000), 0)
    path = folder / "bomb.png"
    bomb.save(path, optimize=True)
    out.append(("decompression-bomb", path))
    return out


def mutate(kwargs: dict[str, Any], rnd: random.Random, pictures: list[tuple[str, Path]]) -> tuple[str, dict]:
    """One bad case: one or two arguments of a valid call replaced by something odd. Returns (label, kwargs)."""
    kw = dict(kwargs)
    labels = []
    for name in rnd.sample(list(kw), k=min(len(kw), rnd.choice((1, 1, 2)))):
        value = kw[name]
        if isinstance(value, dict):  # an ImageEditor value: a bad background, a bad layer, or a layer of another size
            pname, pfile = rnd.choice(pictures)
            if rnd.random() < 0.5 or not value.get("layers"):
                kw[name] = {**value, "background": handle_file(str(pfile))}
                labels.append(f"{name}.background={pname}")
            else:
                kw[name] = {**value, "layers": [handle_file(str(pfile))]}
                labels.append(f"{name}.layer={pname}")
        elif name in IMAGE_PARAMS:  # a plain image input: an odd picture (a non-file value is refused by Gradio's
            pname, pfile = rnd.choice(pictures)  # own validation before the app, with a generic message)
            kw[name] = handle_file(str(pfile))
            labels.append(f"{name}={pname}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            kw[name] = rnd.choice(NUMBERS + STRINGS[:6])
            labels.append(f"{name}={kw[name]!r:.30}")
        else:
            kw[name] = rnd.choice([*STRINGS, None, 7, -3.5])
            labels.append(f"{name}={kw[name]!r:.30}")
    return ", ".join(labels), kw


def answers(url: str, timeout: float = 10.0) -> bool:
    try:
        with urllib.request.urlopen(url + "config", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=40, help="bad cases per endpoint")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-every", type=int, default=10, help="a real Generate after this many cases")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds one case may take")
    ap.add_argument("--show", type=int, default=25, help="how many distinct refusal messages to print")
    ap.add_argument("--run-dir", default=None, help="folder for the server's log and cache (default: a temp dir)")
    args = ap.parse_args()
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="ldm-campaign-"))
    server = launch(run_dir)
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    crashes: list[str] = []
    messages: collections.Counter = collections.Counter()  # what the refusals said, to read them
    try:
        client = Client(server.url, verbose=False)
        work = Workload(client, run_dir / "inputs")
        pictures = picture_files(Path(tempfile.mkdtemp(dir=run_dir)))
        rnd = random.Random(args.seed)
        start_mb, start = tree_rss_mb(server.pid), time.perf_counter()
        n = 0
        for endpoint in work.endpoints:
            for _ in range(args.cases):
                label, kw = mutate(work.kwargs(endpoint), rnd, pictures)
                if endpoint in ("edit", "inpaint") and rnd.random() < 0.3:  # also pictures alone, at the defaults
                    pname, pfile = rnd.choice(pictures)
                    label, kw = f"image={pname}", {**work.kwargs(endpoint), "image": editor_value(pfile)}
                try:
                    client.submit(api_name=f"/{endpoint}", **kw).result(timeout=args.timeout)
                    outcome = "ok"
                except AppError as e:
                    # Gradio says "has raised an exception but has not enabled verbose error reporting" for an
                    # exception the app did not turn into a gr.Error: the student learns nothing from it
                    unexplained = not str(e).strip() or "not enabled verbose error reporting" in str(e)
                    outcome = "CRASH" if unexplained else "refused"
                    if unexplained:
                        label += " -> an error without a message"
                    messages[f"/{endpoint}: {str(e).splitlines()[0][:110]}"] += 1
                except Exception as e:  # anything else is what this campaign looks for
                    outcome = "CRASH"
                    label += f" -> {type(e).__name__}: {e}"
                if not answers(server.url):
                    outcome, label = "CRASH", label + " -> the server stopped answering"
                counts[endpoint][outcome] += 1
                if outcome == "CRASH":
                    crashes.append(f"/{endpoint}: {label}")
                n += 1
                if n % args.check_every == 0:
                    try:
                        client.predict(api_name="/generate", **work.kwargs("generate"))
                    except Exception as e:
                        crashes.append(f"after {n} cases a normal Generate failed: {type(e).__name__}: {e}")
        end_mb = tree_rss_mb(server.pid)
        print(f"\n{n} bad cases over {len(work.endpoints)} endpoints in {time.perf_counter() - start:.0f} s; "
              f"server memory {start_mb:.0f} -> {end_mb:.0f} MB; still serving: {answers(server.url)}\n")  # fmt: skip
        print("| endpoint | cases | ok | refused with a message | CRASH |")
        print("|---|---|---|---|---|")
        for endpoint, c in counts.items():
            print(f"| /{endpoint} | {sum(c.values())} | {c['ok']} | {c['refused']} | {c['CRASH']} |")
        print(f"\n{len(messages)} distinct refusals; the most frequent:")
        for text, count in messages.most_common(args.show):
            print(f"  {count:3d} x {text}")
        for line in crashes:
            print("CRASH", line)
    finally:
        server.stop()
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
