#!/usr/bin/env bash
# The project's own headless PulseAudio with virtual devices, for testing live
# capture on a machine without a sound card (CI, containers).
#
#   scripts/pulse-virtual.sh start   start it (if not running), print the env to use
#   scripts/pulse-virtual.sh env     print the env of the running instance
#   scripts/pulse-virtual.sh stop    stop it and remove its directory
#
# `start` and `env` print shell lines to eval:
#     eval "$(scripts/pulse-virtual.sh start)"
# after which pactl, paplay, parec and `coach start` talk to this server only.
#
# Devices, and why each is there:
#   coach_spk          null sink, the "speakers" (default sink); its monitor
#                      coach_spk.monitor is the customer loopback
#   coach_micfeed      null sink that the tests play the rep's voice into
#   coach_mic          remapped source over coach_micfeed.monitor: a real,
#                      non-monitor "microphone" (default source)
#   coach_silence      null source looped into both sinks: a keep-alive that
#                      keeps capture from stalling when a stream opens
#
# Every file the server writes lives under one directory, $COACH_PULSE_DIR
# (default: ${TMPDIR:-/tmp}/coach-pulse-$UID): runtime dir (socket, pid),
# config, state and log, nothing in $HOME. Give each concurrent user of the
# script its own COACH_PULSE_DIR. Keep the path short: the socket path must
# stay under 108 bytes.
#
# Installs nothing: scripts/install-system-deps.sh installs pulseaudio,
# pulseaudio-utils, libasound2-plugins and libportaudio2.
set -euo pipefail

DIR=${COACH_PULSE_DIR:-${TMPDIR:-/tmp}/coach-pulse-$(id -u)}
RUNTIME=$DIR/runtime
LOG=$DIR/pulse.log
WARMUP_S=${COACH_PULSE_WARMUP_S:-2.5}

# Clients must not be sent to another server by the caller's environment.
unset PULSE_SERVER PULSE_SINK PULSE_SOURCE PULSE_COOKIE
export XDG_RUNTIME_DIR=$RUNTIME
export XDG_CONFIG_HOME=$DIR/config
export PULSE_STATE_PATH=$DIR/state

die() { echo "pulse-virtual: $*" >&2; exit 1; }

print_env() {
    printf 'export XDG_RUNTIME_DIR=%q\n' "$XDG_RUNTIME_DIR"
    printf 'export XDG_CONFIG_HOME=%q\n' "$XDG_CONFIG_HOME"
    printf 'export PULSE_STATE_PATH=%q\n' "$PULSE_STATE_PATH"
    printf 'unset PULSE_SERVER PULSE_SINK PULSE_SOURCE\n'
}

running() { pactl info >/dev/null 2>&1; }

write_script() {
    cat >"$DIR/coach.pa" <<'EOF'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=coach_spk rate=48000 channels=2 sink_properties=device.description=coach_speakers
load-module module-null-sink sink_name=coach_micfeed rate=48000 channels=1 sink_properties=device.description=coach_mic_feed
load-module module-remap-source source_name=coach_mic master=coach_micfeed.monitor channels=1 source_properties=device.description=coach_microphone
load-module module-null-source source_name=coach_silence rate=48000 channels=1
load-module module-loopback source=coach_silence sink=coach_spk latency_msec=20
load-module module-loopback source=coach_silence sink=coach_micfeed latency_msec=20
set-default-sink coach_spk
set-default-source coach_mic
EOF
}

# A new capture stream after server start can deliver nothing for ~2 s and
# that audio is lost: open each source once, here, so the coach's streams don't.
warm_up() {
    local src
    for src in coach_mic coach_spk.monitor; do
        timeout "$WARMUP_S" parec -d "$src" 2>/dev/null | head -c 3200 >/dev/null || true
    done
}

start() {
    command -v pulseaudio >/dev/null || die "pulseaudio is not installed (bash scripts/install-system-deps.sh)"
    command -v pactl >/dev/null || die "pactl is not installed (pulseaudio-utils)"
    if running; then
        print_env
        return 0
    fi
    mkdir -p "$DIR"
    chmod 0700 "$DIR"
    mkdir -p -m 0700 "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$PULSE_STATE_PATH"
    write_script
    : >"$LOG"
    pulseaudio --daemonize=yes -n -F "$DIR/coach.pa" --exit-idle-time=-1 \
        --realtime=no --high-priority=no --log-target="file:$LOG" 2>>"$LOG" \
        || die "pulseaudio did not start; its log: $(tail -n 5 "$LOG" | tr '\n' ' ')"
    local i
    for i in $(seq 1 200); do  # up to ~10 s; it answers in ~30 ms
        running && break
        sleep 0.05
    done
    running || die "pulseaudio started but does not answer; its log: $(tail -n 5 "$LOG" | tr '\n' ' ')"
    for dev in coach_spk coach_micfeed; do
        pactl list short sinks | grep -q "\b$dev\b" || die "sink $dev is missing"
    done
    pactl list short sources | grep -q '\bcoach_mic\b' || die "source coach_mic is missing"
    warm_up
    print_env
}

stop() {
    if running; then
        pactl exit >/dev/null 2>&1 || true
        local i
        for i in $(seq 1 40); do
            running || break
            sleep 0.05
        done
    fi
    local pidfile=$XDG_RUNTIME_DIR/pulse/pid
    if [[ -f $pidfile ]]; then
        local pid
        pid=$(cat "$pidfile" 2>/dev/null || true)
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            sleep 0.2
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$DIR"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    env) running || die "not running (start it with: $0 start)"; print_env ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
