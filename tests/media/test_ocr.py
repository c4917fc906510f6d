"""OCR: text drawn on generated posters is read, in logical order, and the matcher finds it."""

from __future__ import annotations

import shutil
import time

import pytesseract  # type: ignore[import-untyped]
import pytest
from PIL import Image

from arbiter.media import ocr
from arbiter.media.cache import Cache
from arbiter.media.model import MediaError, OcrResult
from arbiter.media.ocr import cached_read_text, ocr_from_json, ocr_to_json, read_text
from arbiter.text.matcher import TextMatcher
from tests.media.conftest import photo, poster

PERSIAN = "قاسم سلیمانی"
LATIN = "Qassem Soleimani"


@pytest.fixture(scope="module", autouse=True)
def tesseract() -> None:
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        pytest.skip("Tesseract is not installed (Debian: tesseract-ocr)")
    missing = {"fas", "ara", "eng"} - set(pytesseract.get_languages())
    if missing:
        pytest.skip(f"Tesseract models missing: {sorted(missing)} (Debian: tesseract-ocr-fas …)")


def entities_found(matcher: TextMatcher, text: str) -> set[str]:
    return {match.entity for match in matcher.find_exhaustive(text, "ocr")}


def overlap(box: tuple[int, int, int, int], drawn: tuple[int, int, int, int]) -> float:
    """Intersection over union of an OCR box (l, t, w, h) and a drawn box (l, t, r, b)."""
    left, top, width, height = box
    a = (left, top, left + width, top + height)
    w = min(a[2], drawn[2]) - max(a[0], drawn[0])
    h = min(a[3], drawn[3]) - max(a[1], drawn[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    area = (a[2] - a[0]) * (a[3] - a[1]) + (drawn[2] - drawn[0]) * (drawn[3] - drawn[1])
    return inter / (area - inter)


def test_a_persian_poster_is_read_in_logical_order_and_matched(matcher: TextMatcher):
    image, drawn = poster(PERSIAN, font_size=48)

    result = read_text(image)

    assert result.text == PERSIAN  # logical order: قاسم first, as it is typed
    assert result.text[0] == "ق"
    assert result.languages == "fas+ara+eng"
    [region] = result.regions
    assert region.text == PERSIAN
    assert region.confidence > 80
    assert overlap(region.box, drawn) > 0.8  # the box is where the name was drawn
    assert entities_found(matcher, result.text) == {"qs"}


def test_a_latin_poster_is_read_and_matched(matcher: TextMatcher):
    image, drawn = poster(LATIN, font_size=44)

    result = read_text(image)

    assert result.text == LATIN
    assert overlap(result.regions[0].box, drawn) > 0.8
    assert entities_found(matcher, result.text) == {"qs"}


def test_a_caption_band_over_a_noisy_photo_is_read_and_matched(matcher: TextMatcher):
    # Plain Tesseract (--psm 3) reads nothing here: the band is taken for part of a picture.
    image, drawn = poster(PERSIAN, (640, 800), 58, background="photo", band=True, seed=5)

    result = read_text(image)

    assert PERSIAN in result.text.splitlines()
    [region] = [r for r in result.regions if r.text == PERSIAN]
    assert overlap(region.box, drawn) > 0.7
    assert entities_found(matcher, result.text) == {"qs"}


def test_light_text_on_a_dark_background_is_read(matcher: TextMatcher):
    image, _ = poster("حاج قاسم سلیمانی", (700, 300), 40, background="dark", fill=(250, 250, 250))
    result = read_text(image)
    assert "حاج قاسم سلیمانی" in result.text
    assert entities_found(matcher, result.text) == {"qs"}


def test_small_text_in_a_small_image_is_read(matcher: TextMatcher):
    image, _ = poster(LATIN, (240, 120), 16)
    result = read_text(image)
    assert entities_found(matcher, result.text) == {"qs"}


def test_two_lines_come_out_top_to_bottom():
    image = Image.new("RGB", (700, 300), "white")
    top, _ = poster("سردار سلیمانی", (700, 150), 40)
    bottom, _ = poster("Never forget", (700, 150), 40)
    image.paste(top, (0, 0))
    image.paste(bottom, (0, 150))
    result = read_text(image)
    assert result.text.splitlines() == ["سردار سلیمانی", "Never forget"]
    assert result.regions[0].box[1] < result.regions[1].box[1]


def test_a_blank_image_and_a_photo_without_text_give_no_text():
    blank = read_text(Image.new("RGB", (400, 300), (255, 255, 255)))
    assert blank == OcrResult(text="", regions=(), languages="fas+ara+eng")
    assert read_text(Image.new("L", (3, 3), 0)).text == ""
    assert read_text(photo((400, 300), seed=11)).text == ""


def test_region_boxes_lie_inside_the_image():
    for image, _ in (
        poster(PERSIAN, (640, 800), 58, background="photo", band=True, seed=5),
        poster(LATIN, (300, 120), 30),
    ):
        for region in read_text(image).regions:
            left, top, width, height = region.box
            assert left >= 0 and top >= 0 and width > 0 and height > 0
            assert left + width <= image.width and top + height <= image.height
            assert 0 <= region.confidence <= 100


def test_ocr_is_stopped_at_its_timeout():
    image, _ = poster(PERSIAN, (640, 800), 58, background="photo", band=True, seed=5)
    with pytest.raises(MediaError) as caught:
        read_text(image, timeout=0.01)
    assert caught.value.kind == "timeout"
    assert "0.01 seconds" in caught.value.reason


def test_results_are_cached_by_content_hash(monkeypatch: pytest.MonkeyPatch):
    image, _ = poster(PERSIAN)
    cache = Cache(None)
    first = cached_read_text(cache, "ab" * 32, image)
    assert first.text == PERSIAN

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("Tesseract ran again")

    monkeypatch.setattr(ocr.pytesseract, "image_to_data", refuse)
    assert cached_read_text(cache, "ab" * 32, image) == first
    with pytest.raises(AssertionError):  # another file, or other languages, are not cached
        cached_read_text(cache, "cd" * 32, image)
    with pytest.raises(AssertionError):
        cached_read_text(cache, "ab" * 32, image, "eng")


def test_the_json_form_round_trips():
    result = OcrResult(
        text="قاسم سلیمانی\nQassem",
        regions=(
            ocr.TextRegion("قاسم سلیمانی", (1, 2, 30, 40), 91.25),
            ocr.TextRegion("Qassem", (5, 60, 30, 20), 88.5),
        ),
        languages="fas+ara+eng",
    )
    data = ocr_to_json(result)
    assert "قاسم".encode() in data  # readable, not escaped
    assert ocr_from_json(data) == result


def test_a_tesseract_run_over_its_time_is_killed():
    image, _ = poster(PERSIAN, (640, 800), 58, background="photo", band=True, seed=5)
    started = time.monotonic()
    with pytest.raises(MediaError) as caught:
        ocr._recognize([image.convert("L")] * 40, "fas+ara+eng", 0.2, 0.2)
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 3


def test_a_missing_language_model_is_a_setup_problem_not_a_media_error():
    image, _ = poster(LATIN)
    with pytest.raises(ocr.OcrUnavailable) as caught:
        read_text(image, "xyz")
    assert "xyz" in str(caught.value)
