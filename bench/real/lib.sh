# Shared by the real-program workloads in bench/real/. Each is run as
#   bench/real/NAME prepare|run SIZE WORKDIR
# prepare generates the input in WORKDIR (not measured); run executes the
# program with the allocator under test and checks its output.
# Environment: BENCH_PRELOAD  the allocator to preload ('' = the program's own)
# Exit status: 0 verified, 1 wrong output, 2 usage, 77 program missing.
# A workload may print measured_seconds=S and measured_peak_rss_kib=K on
# stdout when the process tree's totals would misstate its program.
set -euo pipefail

scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../scripts" && pwd)
python=/usr/bin/python3

# needs PROGRAM PACKAGE: exits 77 with the install line when PROGRAM is missing.
needs() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "SKIP: needs $2; apt-get install -y $2"
    exit 77
  fi
}

# measured COMMAND...: runs COMMAND with the allocator under test preloaded.
measured() {
  if [ -n "${BENCH_PRELOAD:-}" ]; then
    LD_PRELOAD=$BENCH_PRELOAD "$@"
  else
    "$@"
  fi
}

# fail WHAT: reports a verification failure.
fail() {
  echo "verification failed: $*" >&2
  exit 1
}

if [ $# -ne 3 ] || { [ "$1" != prepare ] && [ "$1" != run ]; }; then
  echo "usage: $(basename "$0") prepare|run SIZE WORKDIR" >&2
  exit 2
fi
step=$1 size=$2 workdir=$3
mkdir -p "$workdir"
