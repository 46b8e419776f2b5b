#!/usr/bin/env bash
# CPython under the preload: dicts, lists, strings, JSON round trips,
# threads and fork from a threaded parent (workload.py), by default with
# pymalloc off so that every object uses malloc.
. "$(dirname "$0")/lib.sh"

# Debian's interpreter, not a version manager's shim (a shell script).
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
programs_need "$PYTHON" python3
# PYTHONMALLOC=pymalloc in the environment puts Python's small-object
# allocator back (used for slow library variants).
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP
export PYTHONMALLOC=${PYTHONMALLOC:-malloc} PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1

python_workload() {
  $RUN "$PYTHON" "$HERE/workload.py" "$SCALE"
}

programs_check_bound "$PYTHON" -c pass
programs_compare python_workload
