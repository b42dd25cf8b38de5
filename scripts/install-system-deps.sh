#!/usr/bin/env bash
# Install the Debian/Ubuntu packages coach needs, only when some are missing.
#
#   libportaudio2       sounddevice (live capture)
#   libasound2-plugins  ALSA -> PulseAudio bridge
#   pulseaudio, pulseaudio-utils   sound server and pactl/parec/paplay (live tests)
#   pipewire, pipewire-bin, pipewire-pulse, wireplumber, libspa-0.2-modules, dbus
#                       the other sound server (most current desktops): the live
#                       tests run on both. Not pipewire-alsa: it would make
#                       PipeWire the whole machine's ALSA default. Installing
#                       pipewire-pulse can remove pulseaudio: it is put back after.
#   espeak-ng, sox      synthetic speech and audio tools for tests
#   libsndfile1         soundfile (decoding WAV/FLAC/OGG)
#   strace              the privacy tests watch every file and socket
#   gcc, libc6-dev, python3-dev   build coach/audio/_pulse_drain.c (optional: without
#                       them capture drains its streams in Python, ~0.5 % more CPU)
#
# Fast path: when everything is installed already this exits within a second.
# Not root: uses sudo when available, otherwise prints what to install and
# carries on (exit 0), so `make test` still gets as far as it can.
set -euo pipefail

PACKAGES=(libportaudio2 libasound2-plugins pulseaudio pulseaudio-utils espeak-ng sox libsndfile1 strace
          gcc libc6-dev python3-dev
          pipewire pipewire-bin pipewire-pulse wireplumber libspa-0.2-modules dbus)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: not a Debian/Ubuntu system; make sure these are installed:" \
         "${PACKAGES[*]}" >&2
    exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != *"install ok installed"* ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

echo "install-system-deps: installing ${missing[*]}" >&2

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-system-deps: not root and no sudo; please install as root:" >&2
    echo "    apt-get install ${missing[*]}" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
# pipewire-pulse may have taken pulseaudio's place: both are wanted
if [[ $(dpkg-query -W -f='${Status}' pulseaudio 2>/dev/null || true) != *"install ok installed"* ]]; then
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends pulseaudio
fi
