"""The demo page in a real headless Chromium (Debian's), driven by Playwright: a grounding query from the gallery."""

from __future__ import annotations

import shutil

import numpy as np
import PIL.Image
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this closed network refuses.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: `make test` installs it (scripts/install_browser_deps.sh)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser.new_page(viewport={"width": 1280, "height": 1400})
        browser.close()


def test_grounding_query_from_the_gallery_draws_the_annotated_image(served, page, tmp_path):
    url, backend = served
    page.goto(url)
    page.get_by_label("Thumbnail 5 of 9").click()  # aloha transfer_cube: "pick up the red cube ..."
    phrase = page.locator("#grounding-phrase textarea, #grounding-phrase input").first
    page.wait_for_function("el => el.value === 'the red cube'", arg=phrase.element_handle(), timeout=20_000)
    assert page.locator("#grounding-image img").first.is_visible()

    page.locator("#grounding-submit").click()
    annotated = page.locator("#grounding-output img").first
    annotated.wait_for(state="visible", timeout=60_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=annotated.element_handle())
    raw = page.locator("#grounding-raw textarea").first
    page.wait_for_function("el => el.value.length > 0", arg=raw.element_handle(), timeout=60_000)

    screenshot = tmp_path / "grounding.png"
    page.screenshot(path=str(screenshot), full_page=True)
    annotated.screenshot(path=str(tmp_path / "annotated.png"))
    print(f"screenshots: {screenshot}, {tmp_path / 'annotated.png'}")
    assert annotated.evaluate("img => img.naturalWidth") == 224  # the gallery frame, at its own size
    # The page shows the answer the model gives for this query.
    scene_image = "spaces_demo/examples/aloha_transfer_cube_seed7.png"
    assert raw.input_value() == backend.ground(scene_image, "the red cube").answer
    # What was drawn is the simulator frame: its grey table, not an empty placeholder.
    drawn = np.asarray(PIL.Image.open(tmp_path / "annotated.png").convert("RGB"), dtype=np.float32)
    assert drawn.std() > 10
    with PIL.Image.open(screenshot) as full:
        assert full.width == 1280


def test_a_pasted_grounding_answer_is_drawn_over_the_frame(served, page, tmp_path):
    page.goto(served[0])
    page.get_by_label("Thumbnail 5 of 9").click()
    page.locator("#grounding-image img").first.wait_for(state="visible", timeout=20_000)
    # Around the red cube of this frame (at about 60 %, 51 % of the image), and a point on the left gripper.
    answer = "<ref>red cube</ref><box>[[570, 460, 640, 560]]</box><ref>left gripper</ref><point>[[200, 500]]</point>"
    page.locator("#grounding-raw textarea").first.fill(answer)
    page.locator("#grounding-draw").click()
    masks = page.locator("#grounding-output img.mask")
    masks.nth(1).wait_for(state="attached", timeout=30_000)
    assert masks.count() == 2
    legend = page.locator("#grounding-output .legend-item")
    assert legend.all_inner_texts() == ["red cube", "left gripper"]
    page.locator("#grounding-output").screenshot(path=str(tmp_path / "drawn.png"))
    print(f"screenshot: {tmp_path / 'drawn.png'}")
