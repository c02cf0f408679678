"""Every export kind carries Content Credentials that c2pa's own Reader validates (issue #30)."""

import io
import json

import c2pa
import numpy as np
import pytest
from PIL import Image

from gan_explorer.core.io.images import png_info, save_image
from gan_explorer.core.io.video import export_frames
from gan_explorer.core.latent.provenance import export_metadata, read_picture_provenance
from gan_explorer.core.latent.state import LatentState
from gan_explorer.core.trust.credentials import COMPOSITE, GENERATED, PROVENANCE_LABEL, read_credentials
from gan_explorer.core.trust.verify import TAMPERED, verify_file

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif", ".mp4": "video/mp4"}


def reader_says(path):
    """The C2PA library's own Reader on the file: validation state, source types, our assertion."""
    with open(path, "rb") as f, c2pa.Reader(MIME[path.suffix], f) as reader:
        manifest = reader.get_active_manifest()
        state = reader.get_validation_state()
    actions = [a for x in manifest["assertions"] if x["label"].startswith("c2pa.actions")
               for a in x["data"]["actions"]]
    ours = [json.loads(x["data"]["json"]) for x in manifest["assertions"] if x["label"] == PROVENANCE_LABEL]
    return state, actions, ours[0]


def export(path, image_or_frames, metadata):
    if path.suffix in (".gif", ".mp4"):
        export_frames(list(image_or_frames), path, fps=10, metadata=metadata)
    else:
        save_image(path, image_or_frames, pnginfo=png_info(metadata))


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".gif", ".mp4"])
def test_each_export_kind_is_signed_as_generated(tmp_path, demo, demo_faces, suffix):
    state = LatentState(seed=1)
    metadata = export_metadata(demo.name, demo.identity, state, None)
    path = tmp_path / f"out{suffix}"
    export(path, demo_faces if suffix in (".gif", ".mp4") else demo_faces[1], metadata)
    state_name, actions, ours = reader_says(path)
    assert state_name == "Valid"  # signature checked; a local CA is in no trust list (not "Trusted")
    assert actions[0]["action"] == "c2pa.created" and actions[0]["digitalSourceType"] == GENERATED
    assert ours["model"]["sha256"] == demo.identity and ours["state"]["seed"] == 1
    # the tests' default: no watermark, and the credentials say so
    assert actions[0]["parameters"]["invisible_watermark"] == "off"
    assert ours["trust"]["watermark"]["embedded"] is False
    assert read_credentials(path).valid


def test_a_png_export_still_restores_its_state_and_pixels(tmp_path, demo):
    state = demo.state(seed=4, psi=0.7)
    path = demo.save(tmp_path / "one.png", state)
    assert read_credentials(path).valid
    assert demo.restore(path) == state and read_picture_provenance(path).state == state
    assert np.array_equal(np.asarray(Image.open(path)), demo.render(demo.restore(path)))


def test_a_picture_changed_after_signing_is_invalid_for_verify_and_the_reader(tmp_path, demo, demo_faces):
    path = tmp_path / "signed.png"
    save_image(path, demo_faces[0], pnginfo=png_info(export_metadata(demo.name, demo.identity, LatentState(), None)))
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        chunks = image.info
    # The same PNG with one pixel changed and every other byte of the file (the manifest) kept:
    # decode, change, re-encode the IDAT only by splicing it in.
    pixels = np.asarray(Image.open(path)).copy()
    pixels[10, 10] ^= 0xFF
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(_splice_idat(data, buffer.getvalue()))
    assert np.asarray(Image.open(tampered))[10, 10].tolist() != np.asarray(Image.open(path))[10, 10].tolist()
    assert "gan_explorer" in chunks
    state, _, _ = reader_says(tampered)
    assert state == "Invalid"
    report = verify_file(tampered)
    assert report.outcome == TAMPERED and "INVALID" in "\n".join(report.lines())


def _chunks(data):
    at, out = 8, []
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        out.append((data[at + 4:at + 8], data[at:at + 12 + length]))
        at += 12 + length
    return out


def _splice_idat(signed, other):
    idat = b"".join(raw for kind, raw in _chunks(other) if kind == b"IDAT")
    out, placed = [signed[:8]], False
    for kind, raw in _chunks(signed):
        if kind == b"IDAT":
            if not placed:
                out.append(idat)
                placed = True
            continue
        out.append(raw)
    return b"".join(out)


def test_a_tuned_photo_is_a_composite(tmp_path, demo_faces):
    # A picture that began as a photo (projected; a tuned one carries its tuning's hash in the state).
    metadata = export_metadata("demo", "ab" * 32, LatentState(), None, projection={"photo": "me.jpg"})
    save_image(tmp_path / "photo.png", demo_faces[0], pnginfo=png_info(metadata))
    _, actions, _ = reader_says(tmp_path / "photo.png")
    assert actions[0]["digitalSourceType"] == COMPOSITE


def test_watermark_on_is_said_in_the_credentials(tmp_path, demo, demo_faces, watermark_on):
    path = tmp_path / "marked.png"
    save_image(path, demo_faces[0], pnginfo=png_info(export_metadata(demo.name, demo.identity, LatentState(), None)))
    _, actions, ours = reader_says(path)
    assert actions[0]["parameters"]["invisible_watermark"] == "embedded"
    assert ours["trust"]["watermark"]["model_prefix"] == demo.identity[:6]
    assert ours["upscale"]["factor"] == 4 and Image.open(path).size == (256, 256)  # 64 px cannot hold it


def test_a_library_planted_in_the_current_folder_is_never_loaded(tmp_path):
    """c2pa-python searches the current directory for its native library first; a folder of downloaded
    pictures holding a libc2pa_c.so would run its code on `verify`. Ours loads the package's own."""
    import shutil
    import subprocess
    import sys

    if shutil.which("cc") is None:
        pytest.skip("no C compiler to build the planted library")
    source = tmp_path / "planted.c"
    source.write_text('#include <stdio.h>\n__attribute__((constructor)) static void ran(void) '
                      '{ FILE *f = fopen("PLANTED_RAN", "w"); if (f) fclose(f); }\n')
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(tmp_path / "libc2pa_c.so"), str(source)], check=True)
    env = {k: v for k, v in __import__("os").environ.items() if k != "C2PA_LIBRARY_NAME"}
    ours = subprocess.run([sys.executable, "-c", "from gan_explorer.core.trust.credentials import c2pa_module; "
                           "print(c2pa_module().sdk_version())"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ours.returncode == 0, ours.stderr
    assert not (tmp_path / "PLANTED_RAN").exists()  # (a plain `import c2pa` there creates it: 0.38.1)
