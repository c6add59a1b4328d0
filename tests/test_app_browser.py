"""The app in a real browser (Debian's Chromium through Playwright), with every request off 127.0.0.1 refused.

Visits every tab, drives one action in each and waits for its image. Screenshots go to
``test-artifacts/browser/`` (git-ignored): look at them.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from app_fixtures import app, app_model_dirs, server  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"

pytestmark = pytest.mark.browser


def _chromium_or_skip() -> None:
    if Path(CHROMIUM).is_file():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{CHROMIUM} is missing in CI: install it (apt-get install -y chromium chromium-driver)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium chromium-driver); never `playwright install`")


@pytest.fixture(scope="module")
def page(server):  # noqa: F811
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    refused: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        start = time.perf_counter()
        _, pg = _open(browser, server, refused)
        pg.refused = refused
        pg.render_s = time.perf_counter() - start
        yield pg
        browser.close()


def _local_only(refused: list[str]):
    """A route handler that lets requests to this machine through and refuses (and records) every other."""

    def route(r) -> None:
        if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    return route


def _open(browser, url: str, refused: list[str], **context_kwargs):
    """A new browser context (``locale=``, ``storage_state=`` ...) with off-machine requests refused into
    ``refused``, and a page of it on the app, rendered; -> (context, page)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **context_kwargs)
    context.route("**/*", _local_only(refused))
    pg = context.new_page()
    pg.set_default_timeout(60_000)  # a busy 2-core machine can be slow; a hang still fails
    pg.goto(url)
    pg.wait_for_selector("#gen-run", timeout=30_000)
    return context, pg


def _wait_image(pg, selector: str, timeout: float = 60_000) -> None:
    """Wait until ``selector`` shows a loaded image and the progress overlay is gone."""
    pg.wait_for_function(
        "sel => { const im = document.querySelector(sel); return im && im.complete && im.naturalWidth > 0; }",
        arg=f"{selector} img",
        timeout=timeout,
    )
    pg.wait_for_function(
        "() => ![...document.querySelectorAll('[data-testid=status-tracker]')].some(e => !e.classList.contains('hide'))",
        timeout=timeout,
    )


def _shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _set_number(pg, elem_id: str, value: int) -> None:
    box = pg.locator(f"#{elem_id} input").first
    box.fill(str(value))
    box.press("Enter")


_IDLE_JS = (
    "() => ![...document.querySelectorAll('[data-testid=status-tracker]')].some(e => !e.classList.contains('hide'))"
)


def _idle(pg) -> bool:
    return pg.evaluate(
        "() => ![...document.querySelectorAll('[data-testid=status-tracker]')].some(e => !e.classList.contains('hide'))"
    )


def test_every_tab_offline(page, app) -> None:  # noqa: F811
    pg = page
    assert pg.render_s < 20, f"page took {pg.render_s:.1f} s to render"  # about 2 s on an idle machine

    # Generate: a long run shows live previews and the Stop button ends it: the batcher drops its rows long before
    # the 1,000 steps are done, and the page is ready for the next run (Gradio's cancel returns once the handler
    # has been closed; a click before that is dropped by the page, as for any event still running)
    _set_number(pg, "gen-steps", 1000)
    _set_number(pg, "gen-batch", 16)  # 16 images x 1,000 steps: seconds of sampling, so Stop lands before the end
    pg.click("#gen-run")
    pg.wait_for_selector("#gen-preview img", timeout=60_000)
    batcher = app.registry.batcher
    runs_before = len(batcher.history)
    stop_clicked = time.time()
    pg.click("#gen-stop")
    while (len(batcher.history) == runs_before or not _idle(pg)) and time.time() < stop_clicked + 30:
        time.sleep(0.1)
    assert len(batcher.history) == runs_before + 1 and batcher.history[-1].seconds < 60, "Stop left the sampler running"
    assert _idle(pg), "the page still shows the stopped run as running"
    assert not any(t.name == "ldm-request" for t in threading.enumerate()), "Stop left the request thread running"
    assert pg.locator("#gen-gallery img").count() == 0  # stopped before any result

    # Generate: a batch of 4 at 25 steps, then the grid and the gallery; the model picker changes the classes
    _set_number(pg, "gen-steps", 25)
    _set_number(pg, "gen-batch", 4)
    _set_number(pg, "gen-seed", 7)
    pg.click("#gen-run")
    _wait_image(pg, "#gen-result")
    assert pg.locator("#gen-gallery img").count() == 4
    assert "Seed: 7" in pg.locator("#gen-info").inner_text()
    _shot(pg, "1-generate")
    pg.locator("#model input").click()
    pg.get_by_role("option", name="tiny digits").click()
    pg.wait_for_function("() => document.querySelector('#gen-class input').value === '0'")  # the new model's first
    pg.locator("#gen-class input").click()
    pg.wait_for_function("() => document.querySelectorAll('[role=option]').length === 4")
    assert [o.strip("✓\n") for o in pg.get_by_role("option").all_inner_texts()] == ["0", "1", "2", "unconditional"]
    pg.keyboard.press("Escape")

    # Interpolate: the strip of frames and the image at the slider's position
    pg.get_by_role("tab", name="Interpolate").click()
    _set_number(pg, "interp-frames", 5)
    pg.click("#interp-run")
    _wait_image(pg, "#interp-strip")
    _wait_image(pg, "#interp-image")
    assert "Weight: 0.5" in pg.locator("#interp-info").inner_text()
    _shot(pg, "2-interpolate")

    # Edit: pick the first example, watch the steps-to-run note follow the strength, edit
    pg.get_by_role("tab", name="Edit").click()
    pg.locator("#edit-strength input[type=number]").fill("0.4")
    pg.locator("#edit-strength input[type=number]").press("Enter")
    pg.wait_for_function("() => document.querySelector('#edit-steps-run').innerText.includes('10 of 25')")
    _example_button(pg, "#edit-image").click()
    pg.wait_for_selector("#edit-image canvas")
    pg.click("#edit-run")
    _wait_image(pg, "#edit-result")
    assert "Steps run: 10" in pg.locator("#edit-info").inner_text()
    _shot(pg, "3-edit")

    # Inpaint: an example, a brush stroke over its right half as the mask, inpaint
    pg.get_by_role("tab", name="Inpaint").click()
    _example_button(pg, "#inpaint-image").click()
    time.sleep(1.0)  # the canvas draws the background
    pg.locator("#inpaint-image button[aria-label=Brush]").click()
    canvas = pg.locator("#inpaint-image canvas").last
    box = canvas.bounding_box()
    x, y, h = box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3, box["height"] * 0.4
    pg.mouse.move(x, y)
    pg.mouse.down()
    for k in range(1, 11):
        pg.mouse.move(x, y + h * k / 10)
    pg.mouse.up()
    pg.click("#inpaint-run")
    _wait_image(pg, "#inpaint-result")
    _wait_image(pg, "#inpaint-mask")
    assert "Inpaint method: blend" in pg.locator("#inpaint-info").inner_text()
    _shot(pg, "4-inpaint")

    errors = pg.locator(".toast-body.error, .toast-wrap .error")
    assert errors.count() == 0, errors.all_inner_texts()
    assert pg.refused == [], f"the page asked for off-machine resources: {pg.refused}"


def test_learn_tab_offline(page, server) -> None:  # noqa: F811
    """Every section of the Learn tab opens and draws; the film strip scrubs, steps and plays."""
    pg = page
    # Learn: the overview opens a section; every section opens and draws; the film strip scrubs and plays
    pg.goto(server)
    pg.wait_for_selector("#gen-run", timeout=30_000)
    pg.get_by_role("tab", name="Learn").click()
    pg.click("#learn-box-1")  # "VAE encoder E" on the diagram opens section 1
    _wait_image(pg, "#learn-vae-recon")
    _wait_image(pg, "#learn-vae-latent")
    _wait_image(pg, "#learn-vae-moved")
    assert "196 latent numbers" in pg.locator("#learn-vae-numbers").inner_text()
    assert pg.locator("#learn-vae-numbers .katex").count() > 0  # the loss formula rendered as math
    for section, image in (("forward", "#learn-zt"), ("denoiser", "#learn-den-epshat"), ("reverse", "#learn-rev-a-x0"),
                           ("chapter", "#learn-ch-chapter"), ("guidance", "#learn-gd-row")):  # fmt: skip
        _open_section(pg, section)
        _wait_image(pg, image)
    assert "noise level t = 250" in pg.locator("#learn-fwd-formula").inner_text()
    assert "step 20 of 20" in pg.locator("#learn-rev-note").inner_text()
    _set_number(pg, "learn-rev-step", 1)  # scrub to the first step: the highest noise level
    pg.wait_for_function("() => document.querySelector('#learn-rev-note').innerText.includes('step 1 of 20')")
    assert "t = 999" in pg.locator("#learn-rev-note").inner_text()
    pg.click("#learn-rev-next")
    pg.wait_for_function("() => document.querySelector('#learn-rev-note').innerText.includes('step 2 of 20')")
    _set_number(pg, "learn-rev-step", 17)
    pg.wait_for_function("() => document.querySelector('#learn-rev-note').innerText.includes('step 17 of 20')")
    pg.click("#learn-rev-play")  # plays to the last step
    pg.wait_for_function("() => document.querySelector('#learn-rev-note').innerText.includes('step 20 of 20')")
    pg.click("#learn-rev-jump")
    _wait_image(pg, "#learn-rev-jumped")
    assert "MSE" in pg.locator("#learn-rev-jump-note").inner_text()
    _open_section(pg, "replay")
    pg.wait_for_function("() => document.querySelector('#learn-replay-note').innerText.includes('replay')")
    _open_section(pg, "latent")
    pg.wait_for_function("() => document.querySelector('#learn-cost').innerText.includes('ratio')")
    pg.wait_for_function("() => document.querySelector('#learn-nn-note').innerText.includes('reference')")
    _open_section(pg, "formulas")  # two formulas a row, rendered by KaTeX (once the folded section is drawn)
    pg.wait_for_function("() => document.querySelectorAll('#learn-formulas .katex').length >= 14", timeout=15_000)
    _shot(pg, "5-learn")
    errors = pg.locator(".toast-body.error, .toast-wrap .error")
    assert errors.count() == 0, errors.all_inner_texts()
    assert pg.refused == [], f"the page asked for off-machine resources: {pg.refused}"


def _open_section(pg, key: str) -> None:
    """Open a Learn section's accordion (a click on its label)."""
    pg.locator(f"#learn-sec-{key} > button").first.click()


def _example_button(pg, editor: str):
    """The first example of the gr.Examples below an editor."""
    column = pg.locator(editor).locator("xpath=ancestor::div[contains(@class, 'column')][1]")
    return column.locator(".gallery-item, button.gallery").first


def _other_language_keeps_the_step(context, url: str, k: int, refused: list[str]) -> None:
    """Mid-lesson, the same browser storage in an English browser: the lesson opens at step ``k``, in English, and
    its show me works there."""
    from demo import lesson
    from demo.i18n import text

    other, pg = _open(context.browser, url, refused, locale="en-US", storage_state=context.storage_state())
    try:
        pg.locator("#lesson > button").first.click()
        pg.wait_for_selector(f"#lesson-step-{k}", state="visible")
        shown = pg.locator(f"#lesson-step-{k}").inner_text()
        assert f"{k} / {len(lesson.STEPS)}" in shown and text(f"lesson.{lesson.STEPS[k - 1].key}.title", "en") in shown
        assert pg.locator("#lesson-step-1").is_hidden()
        pg.click("#lesson-show")
        tab = pg.get_by_role("tab", name=text("tab.learn", "en"), exact=True)
        pg.wait_for_function("el => el.getAttribute('aria-selected') === 'true'", arg=tab.element_handle())
        _wait_image(pg, LESSON_DRAWS[lesson.STEPS[k - 1].section])
        _shot(pg, f"lesson-en-after-zh-{k:02d}")
    finally:
        other.close()


# a picture of each Learn section the lesson opens (visible once its accordion is open)
LESSON_DRAWS = {"vae": "#learn-vae-recon", "forward": "#learn-zt", "denoiser": "#learn-den-epshat",
                "reverse": "#learn-rev-a-x0", "chapter": "#learn-ch-chapter", "guidance": "#learn-gd-row"}  # fmt: skip


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_lesson_end_to_end_in_both_locales(page, server, app, locale) -> None:  # noqa: F811
    """A teacher runs the whole lesson without touching a setting: each show me lands on its tab (named in the
    browser's language) with its presets; Chinese text renders; a screenshot of every step."""
    from demo import lesson
    from demo.i18n import text

    lang = "zh" if locale.startswith("zh") else "en"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    refused: list[str] = []
    context, pg = _open(page.context.browser, server, refused, locale=locale)
    try:
        assert pg.get_by_role("tab", name=text("tab.generate", lang)).count() == 1
        assert pg.locator("#gen-run").inner_text().strip() == text("gen.run", lang)
        if lang == "zh":  # the page's words are Chinese, and a CJK font draws them (not boxes): wider than Latin
            assert "潜在空间" in pg.locator("body").inner_text()
            width = pg.evaluate("() => { const c = document.createElement('canvas').getContext('2d'); "
                                "c.font = '16px sans-serif'; return c.measureText('潜在扩散模型').width; }")  # fmt: skip
            assert width > 80, f"Chinese drawn {width:.0f} px wide: no CJK font (apt-get install fonts-noto-cjk)"
        assert pg.locator("#model input").input_value() != "MNIST digits"  # show me picks the lesson's model itself
        pg.locator("#lesson > button").first.click()
        for k, step in enumerate(lesson.STEPS, start=1):
            pg.wait_for_selector(f"#lesson-step-{k}", state="visible")
            assert f"{k} / {len(lesson.STEPS)}" in pg.locator(f"#lesson-step-{k}").inner_text()
            pg.click("#lesson-show")
            tab = pg.get_by_role("tab", name=text(f"tab.{step.tab}", lang), exact=True)
            pg.wait_for_function("el => el.getAttribute('aria-selected') === 'true'", arg=tab.element_handle())
            if k == 1:
                pg.wait_for_function("() => document.querySelector('#model input').value === 'MNIST digits'")
            if step.section in LESSON_DRAWS:  # open and computed by show me alone: the section's pictures are drawn
                _wait_image(pg, LESSON_DRAWS[step.section])
            if step.key == "reverse":  # a note the handler wrote, in the browser's language
                pg.wait_for_function("() => document.querySelector('#learn-rev-note').innerText.includes('20')")
                assert ("去噪步" if lang == "zh" else "denoising step") in pg.locator("#learn-rev-note").inner_text()
            for elem_id, value in step.presets.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    pg.wait_for_function(
                        "([sel, v]) => { const i = document.querySelector(sel); return i && Number(i.value) === v; }",
                        arg=[f"#{elem_id} input", value],
                    )
            if step.key == "generate":  # the class shows in the page's language, the value stays "3"
                shown = pg.locator("#gen-class input").input_value()
                assert shown == text("class.3", lang), shown
            if step.key in ("edit", "inpaint"):
                pg.wait_for_selector(f"#{step.key}-image canvas")
                pg.click(f"#{step.key}-run")
                _wait_image(pg, f"#{step.key}-result")
            time.sleep(0.3)
            _shot(pg, f"lesson-{lang}-{k:02d}-{step.key}")
            if step.key == "chapter" and lang == "zh":
                _other_language_keeps_the_step(context, server, k, refused)
            if k < len(lesson.STEPS):
                pg.click("#lesson-next")
        assert "Inpaint method: blend" in pg.locator("#inpaint-info").inner_text()  # the painted half was the mask
        errors = pg.locator(".toast-body.error, .toast-wrap .error")
        assert errors.count() == 0, errors.all_inner_texts()
        assert refused == [], f"the page asked for off-machine resources: {refused}"
    finally:
        context.close()
