"""The faces' part maps and landmarks come from the same shapes that draw the picture."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from gan_explorer.core.data.faces import (
    HAIR_COLORS, LANDMARK_NAMES, PART_NAMES, FaceFactors, FacesDataset, _layout, _palette, face_landmarks,
    face_parts, factors_for, render_face)

TILTED = FaceFactors(head_tilt=0.9, offset_x=-0.6, glasses=1, hair_length=0.8)


def label(name):
    return PART_NAMES.index(name)


@pytest.mark.parametrize("resolution", [16, 64, 100])
def test_part_map_has_the_picture_shape_and_known_labels(resolution):
    parts = face_parts(TILTED, resolution)
    assert parts.shape == (resolution, resolution) and parts.dtype == np.uint8
    assert parts.max() < len(PART_NAMES)
    present = {PART_NAMES[k] for k in np.unique(parts)}
    assert {"background", "skin", "hair", "eyes"} <= present
    if resolution >= 64:  # at 16 px the 1/4-pixel lines cover no pixel's majority, as they barely show
        assert {"mouth", "glasses", "brows", "nose"} <= present


def test_glasses_on_face_has_glasses_pixels_and_glasses_off_face_none():
    on, off = face_parts(TILTED.replace(glasses=1), 64), face_parts(TILTED.replace(glasses=0), 64)
    assert (on == label("glasses")).sum() > 20
    assert (off == label("glasses")).sum() == 0
    # glasses pixels are the dark frame colour in the picture
    picture = render_face(TILTED, 64)
    assert np.median(picture[on == label("glasses")].mean(axis=1)) < 90


def test_part_map_aligns_with_the_drawn_picture():
    for index in range(12):
        factors = factors_for(index, seed=5)
        picture, parts = render_face(factors, 64).astype(int), face_parts(factors, 64)
        background = picture[0, 0]  # a corner is always background
        is_background = np.abs(picture - background).max(axis=2) <= 2
        assert (is_background[parts == label("background")]).mean() > 0.95, index  # the rest: antialiased edges
        assert (is_background[parts == label("skin")]).mean() < 0.02, index
        hair = np.asarray(_palette(HAIR_COLORS, factors.hair_color))
        ramp = 1 + 0.28 * factors.light_direction * np.linspace(-1, 1, 64)
        expected_hair = hair[None, None, :] * ramp[None, :, None]
        close_to_hair = np.abs(picture - expected_hair).max(axis=2) <= 6
        assert close_to_hair[parts == label("hair")].mean() > 0.7, index  # the rest: antialiased edges
        red_mouth = picture[parts == label("mouth")]
        assert (red_mouth[:, 0] > red_mouth[:, 1] + 20).mean() > 0.6, index


@pytest.mark.parametrize("resolution", [64, 128])
def test_pupils_are_dark_at_the_eye_centre_landmarks(resolution):
    checked = 0
    for index in range(30):
        factors = factors_for(index, seed=9)
        if resolution < 128 and factors.eye_size < 0.4:
            continue  # at 64 px a small pupil is under a pixel wide, blended with the white around it
        picture, points = render_face(factors, resolution), face_landmarks(factors, resolution)
        for name in ("eye_left_centre", "eye_right_centre"):
            x, y = points[LANDMARK_NAMES.index(name)]
            assert picture[int(round(y)), int(round(x))].mean() < 90, (index, name)
            checked += 1
    assert checked >= 20


def test_landmarks_fall_on_their_parts():
    expected = {"eye_left_centre": "eyes", "eye_right_centre": "eyes", "mouth_centre": "mouth",
                "nose_tip": "nose"}
    for index in range(20):
        factors = factors_for(index, seed=11)
        parts, points = face_parts(factors, 128), face_landmarks(factors, 128)
        assert points.shape == (len(LANDMARK_NAMES), 2) and points.dtype == np.float32
        for name, part in expected.items():
            x, y = points[LANDMARK_NAMES.index(name)]
            window = parts[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2]
            assert (window == label(part)).any(), (index, name)


@pytest.mark.parametrize("resolution", [32, 64, 256])
def test_landmarks_follow_the_tilt_and_shift_exactly(resolution):
    """A dot drawn at a landmark and moved by the picture's own rotate lands where face_landmarks says."""
    layout, points = _layout(TILTED, resolution), face_landmarks(TILTED, resolution)
    angle = np.radians(layout.tilt_degrees)
    rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    ys, xs = np.mgrid[:resolution, :resolution]
    for k, (px, py) in enumerate(layout.landmarks):
        dot = Image.new("L", (layout.size, layout.size), 0)
        ImageDraw.Draw(dot).ellipse([round(px) - 3, round(py) - 3, round(px) + 3, round(py) + 3], fill=255)
        weight = np.asarray(layout.rotate(dot, Image.BILINEAR).reduce(layout.supersampling), float)
        centroid = np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()
        rounding = np.array([round(px) - px, round(py) - py]) / layout.supersampling  # the dot sits on a pixel
        assert np.abs(centroid - (points[k] + rotation @ rounding)).max() < 0.05, LANDMARK_NAMES[k]


def test_dataset_gives_parts_and_landmarks_for_its_items():
    dataset = FacesDataset(48, seed=3)
    assert np.array_equal(dataset.parts(4), face_parts(dataset.factors(4), 48))
    assert np.array_equal(dataset.landmarks(4), face_landmarks(dataset.factors(4), 48))
    assert dataset.parts(4).shape == dataset.image(4).shape[:2]
