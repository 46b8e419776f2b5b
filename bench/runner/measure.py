"""One measured run: wall time and peak RSS of a child process tree."""
import os
import re
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass

SKIP = 77


@dataclass
class Run:
    status: str          # ok, skip, fail, timeout
    seconds: float
    peak_rss_kib: int
    output: str
    cpu_seconds: float = 0.0   # user + system, of the whole process tree


def run_once(spawner, argv, env, timeout):
    """Runs argv through the bench-spawn launcher `spawner`.

    The launcher reports the wall time (monotonic clock) and wait4()'s
    ru_maxrss: the largest resident size of the program and of the
    descendants it waited for. A workload may print measured_seconds= and
    measured_peak_rss_kib= to report its own program instead (redis).
    """
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as result:
        try:
            child = subprocess.Popen([spawner, result.name] + argv, stdout=out,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        except OSError as error:
            return Run("fail", 0.0, 0, str(error))
        timed_out = threading.Event()

        def kill_group():
            timed_out.set()
            os.killpg(child.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill_group)
        timer.start()
        returncode = child.wait()
        timer.cancel()
        out.seek(0)
        output = out.read().decode(errors="replace")
        measured = result.read().split()
    seconds, peak, cpu = (float(measured[0]), int(measured[1]), float(measured[2])) \
        if len(measured) == 3 else (0.0, 0, 0.0)
    own_seconds = re.search(r"^measured_seconds=([0-9.]+)$", output, re.M)
    own_peak = re.search(r"^measured_peak_rss_kib=([0-9]+)$", output, re.M)
    if own_seconds:
        seconds = float(own_seconds.group(1))
    if own_peak:
        peak = int(own_peak.group(1))
    if timed_out.is_set():
        status = "timeout"
    elif returncode == 0:
        status = "ok"
    elif returncode == SKIP:
        status = "skip"
    else:
        status = "fail"
    return Run(status, seconds, peak, output, cpu)
