#!/usr/bin/env bash
# fork+exec stress under the preload: a shell (itself preloaded) starting a
# few thousand short commands (sh -c, sort, awk, find, tar, ...) through
# forks, pipelines, command substitutions and background jobs. Each child
# forks from a preloaded parent and execs a preloaded program, so both the
# allocator's fork handling and its start-up run thousands of times.
. "$(dirname "$0")/lib.sh"

programs_need tar tar
iterations=$(programs_scaled 60 10)
export LC_ALL=C

forkexec_workload() {
  $RUN bash "$HERE/forkexec-loop.sh" "$iterations"
}

programs_check_bound bash -c :
programs_compare forkexec_workload
