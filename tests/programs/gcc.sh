#!/usr/bin/env bash
# gcc under the preload (driver, cc1, as, collect2, ld and lto1 all inherit
# it): workload.c compiled at -O0, -O2 -g and -O3 -flto; the objects, the
# disassembly and the program's output must match the system allocator's.
. "$(dirname "$0")/lib.sh"

programs_need gcc gcc
programs_need objdump binutils

# A make jobserver inherited from `make test` must not change how LTO runs.
unset MAKEFLAGS MFLAGS

gcc_workload() {
  cp "$HERE/workload.c" .
  # The debug info records the build directory, which differs between runs.
  local flags=(-Wall -Wextra "-fdebug-prefix-map=$PWD=.")
  $RUN gcc "${flags[@]}" -O0 -g -c workload.c -o O0.o &&
    $RUN gcc "${flags[@]}" -O2 -g -c workload.c -o O2.o &&
    $RUN gcc "${flags[@]}" -O3 -flto workload.c -o program || return
  $RUN ./program
  sha256sum O0.o O2.o program
  objdump -d --no-show-raw-insn O2.o
}

programs_check_bound gcc --version
programs_compare gcc_workload
