#!/usr/bin/env bash
# CPython under the preload: dicts, lists, strings, JSON round trips and
# threads (workload.py), with pymalloc off so every object uses malloc.
. "$(dirname "$0")/lib.sh"

# Debian's interpreter, not a version manager's shim (a shell script).
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
programs_need "$PYTHON" python3
export PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1

python_workload() {
  $RUN "$PYTHON" "$HERE/workload.py" "$SCALE"
}

programs_check_bound "$PYTHON" -c pass
programs_compare python_workload
