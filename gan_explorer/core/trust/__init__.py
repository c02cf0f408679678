"""Trust: what lets anyone check that a picture came from this app.

keys.py         the signing key and certificate (made on first use, or the user's own)
credentials.py  Content Credentials (C2PA manifests) signed into every export, and read back
watermark.py    an invisible mark in the pixels: our mark + a prefix of the model's hash
export.py       the one hook the image and video writers call (core/io/images.py, core/io/video.py)
verify.py       what `gan-explorer verify` and File > Verify report per file
"""
