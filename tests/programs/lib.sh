# Shared helpers for the real-program tests; sourced by each <program>.sh.
#
# Every test runs a deterministic workload twice, once with the system
# allocator and once with the library under test preloaded, and requires the
# two runs to agree byte for byte (stdout, stderr and exit status). It also
# proves that the preload took effect, so that a library the dynamic linker
# silently ignored cannot pass.
#
# Usage inside a test script:
#   . "$(dirname "$0")/lib.sh"          # sets PRELOAD_LIB, SCALE, HERE, SCRATCH
#   programs_need sqlite3 sqlite3       # exit 77 (skip) when the program is missing
#   programs_check_bound sqlite3 :memory: 'select 1'
#   programs_compare workload_function  # runs it twice and diffs the results

# PRELOAD_LIB, SCALE, HERE and RUN are set here for the scripts that source
# this file.
# shellcheck disable=SC2034
set -u

if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 /path/to/libr3malloc.so [SCALE]" >&2
  exit 2
fi
PRELOAD_LIB=$(readlink -f "$1")
# SCALE (default 1) shrinks or grows the workload, e.g. 0.1 for slow variants.
SCALE=${2:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
# Keep the harness itself on the system allocator: only the program under
# test gets the preload (via `preloaded`), so a broken library shows up as a
# failed comparison, not as a broken shell.
unset LD_PRELOAD

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/r3malloc-programs.XXXXXX") || exit 1
# No dot-file of the user (.sqliterc, .gitconfig, ...) may change a program.
export HOME=$SCRATCH
programs_cleanup_hooks=(programs_stop_watchdog)

# Runs registered cleanup hooks (e.g. stopping a server), then removes SCRATCH.
programs_cleanup() {
  local hook
  for hook in "${programs_cleanup_hooks[@]+"${programs_cleanup_hooks[@]}"}"; do
    "$hook"
  done
  rm -rf "$SCRATCH"
}
trap programs_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
# The trap may run while a workload's stderr is redirected to a file: report
# on the test's own stderr.
exec {programs_stderr}>&2
trap 'echo "FAIL: terminated (time limit?)" >&"$programs_stderr"; exit 143' TERM

# A watchdog ends the test before CTest's own timeout would kill it with no
# chance to clean up: it signals this shell and its children, so the EXIT
# trap still stops servers and removes SCRATCH. The limit (seconds) must stay
# below the TIMEOUT in CMakeLists.txt.
programs_watchdog() {
  local limit=$1 test_shell=$$ sleeper
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$limit" &
  sleeper=$!
  wait "$sleeper" || exit 0
  kill -TERM "$test_shell"
  pkill -TERM -P "$test_shell"
}
programs_watchdog "${PROGRAMS_TIME_LIMIT:-270}" </dev/null >/dev/null 2>&1 &
programs_watchdog_pid=$!
programs_stop_watchdog() {
  kill "$programs_watchdog_pid" 2>/dev/null
}

# programs_on_exit FUNCTION: call FUNCTION when the test ends, however it ends.
programs_on_exit() {
  programs_cleanup_hooks+=("$1")
}

programs_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# programs_need COMMAND PACKAGE: skip the test when COMMAND is not installed.
programs_need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "SKIP: needs $2; apt-get install -y $2"
  exit 77
}

# programs_scaled COUNT MINIMUM: prints COUNT times SCALE, at least MINIMUM.
programs_scaled() {
  awk -v count="$1" -v minimum="$2" -v scale="$SCALE" \
    'BEGIN { n = int(count * scale); print n < minimum ? minimum : n }'
}

# preloaded COMMAND...: run COMMAND with the library under test preloaded.
# The workload functions call their program through `$RUN`, which is either
# empty (system allocator) or `preloaded`.
preloaded() {
  LD_PRELOAD=$PRELOAD_LIB "$@"
}

# programs_check_bound COMMAND...: run COMMAND (a short, quiet invocation)
# under the preload with the dynamic linker's binding trace on, and require
# that some object's `malloc` and `free` were bound to the preloaded library.
# For an r3malloc library, also require the statistics it prints at exit
# with R3MALLOC_SHOW_STATS=1: proof that its allocator really ran.
programs_check_bound() {
  local trace=$SCRATCH/bindings
  LD_DEBUG=bindings LD_DEBUG_OUTPUT=$trace LD_PRELOAD=$PRELOAD_LIB "$@" \
    >/dev/null 2>&1 </dev/null
  local symbol
  for symbol in malloc free; do
    cat "$trace".* 2>/dev/null |
      grep -qF "to $PRELOAD_LIB [0]: normal symbol \`$symbol'" ||
      programs_fail "$1 did not bind $symbol to $PRELOAD_LIB (preload ignored?)"
  done
  rm -f "$trace".*
  case ${PRELOAD_LIB##*/} in
    libr3malloc*)
      R3MALLOC_SHOW_STATS=1 LD_PRELOAD=$PRELOAD_LIB "$@" 2>&1 >/dev/null </dev/null |
        grep -q '^r3malloc .* statistics$' ||
        programs_fail "$1 under $PRELOAD_LIB printed no statistics with R3MALLOC_SHOW_STATS=1"
      ;;
  esac
}

# programs_compare WORKLOAD: run the shell function WORKLOAD twice, each time
# in a fresh directory under SCRATCH with stdout and stderr captured: first
# with RUN empty, then with RUN=preloaded. Fails with a diff if the two runs
# differ in stdout, stderr or exit status.
programs_compare() {
  local workload=$1 mode status
  for mode in system preloaded; do
    # Not a subshell: state the workload leaves (a server's pid) must stay
    # visible to the cleanup hooks.
    mkdir -p "$SCRATCH/$mode" && cd "$SCRATCH/$mode" || exit 1
    if [ "$mode" = preloaded ]; then RUN=preloaded; else RUN=; fi
    "$workload" >"$SCRATCH/$mode.out" 2>"$SCRATCH/$mode.err"
    status=$?
    echo "exit status $status" >>"$SCRATCH/$mode.out"
    cd "$SCRATCH" || exit 1
  done
  local stream ok=1
  for stream in out err; do
    if ! cmp -s "$SCRATCH/system.$stream" "$SCRATCH/preloaded.$stream"; then
      echo "std$stream differs between the system allocator and $PRELOAD_LIB:" >&2
      diff "$SCRATCH/system.$stream" "$SCRATCH/preloaded.$stream" | head -40 >&2
      ok=0
    fi
  done
  [ $ok = 1 ] || programs_fail "$workload: output differs under the preload"
  echo "$workload: identical output ($(wc -l <"$SCRATCH/system.out") lines) with and without $PRELOAD_LIB"
}
