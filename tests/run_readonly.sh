#!/bin/sh
# Run a command with this repository mounted read-only, as on a shared JupyterHub where the instructor owns the course
# copy: every file a notebook writes must then go to the user data folder (utils.data_home), never into the repository.
#
#   tests/run_readonly.sh [--writable DIR]... python -m pytest ... notebooks/*.ipynb
#
# --writable DIR (relative to the repository) stays writable, for test tooling that records results there (the nbval
# plugin's build/timings.json); notebooks never write there.
#
# Uses a private Linux mount namespace, so nothing changes outside the command: `unshare -m` as root (root ignores file
# modes, so a read-only *mount* is the only real test), else an unprivileged user namespace (`unshare -rm`). Where
# neither is available (macOS, Windows, a locked-down container) it says so in one line and runs the command as it is.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd -P)
writable=""
while [ "${1:-}" = --writable ]; do
    mkdir -p "$root/$2"
    writable="$writable $2"
    shift 2
done
if [ "${COURSE_READONLY_INNER:-}" = 1 ]; then
    unset COURSE_READONLY_INNER
    mount --bind "$root" "$root"
    for dir in $writable; do mount --bind "$root/$dir" "$root/$dir"; done
    mount -o remount,ro,bind "$root"
    if touch "$root/.readonly-probe" 2>/dev/null; then
        rm -f "$root/.readonly-probe"
        echo "run_readonly: could not make $root read-only" >&2
        exit 1
    fi
    exec "$@"
fi
if [ "$(id -u)" = 0 ]; then flags=-m; else flags=-rm; fi
if unshare $flags true 2>/dev/null; then
    set -- $(for dir in $writable; do printf -- '--writable %s ' "$dir"; done) "$@"
    COURSE_READONLY_INNER=1 exec unshare $flags "$0" "$@"
fi
echo "run_readonly: no mount namespace here (unshare $flags failed); running with the repository writable" >&2
exec "$@"
