"""The benchmark's workloads and allocators: what to run and how.

A workload is either one of the C programs built into build/bench/ (it
verifies itself and exits non-zero on a mismatch) or a real program driven
by a script in bench/real/ (which checks the program's output).
"""
import os
import subprocess
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBDIR = "/usr/lib/x86_64-linux-gnu"


@dataclass
class Workload:
    name: str
    argv: list                    # program and fixed arguments, or [real script]
    real: bool = False            # a real program in bench/real/
    threaded: bool = False        # takes -t THREADS
    size: str = ""                # real programs: the size for a measured run
    tiny_size: str = ""           # real programs: the size for the smoke test
    models: str = ""              # one line for the docs and --list
    notes: list = field(default_factory=list)

    def label(self, threads):
        return f"{self.name} t{threads}" if self.threaded else self.name


def program(name, argv, threaded, models):
    return Workload(name, argv, threaded=threaded, models=models)


def real(name, size, tiny_size, models):
    return Workload(name, [name], real=True, size=size, tiny_size=tiny_size, models=models)


WORKLOADS = [
    program("larson", ["larson"], True, "server: random sizes, blocks handed to new threads"),
    program("xmalloc", ["xmalloc"], True, "producer/consumer: every block freed by another thread"),
    program("cache-scratch", ["cache", "-m", "scratch"], True, "passive false sharing"),
    program("cache-thrash", ["cache", "-m", "thrash"], True, "active false sharing"),
    program("glibc-simple", ["glibc-simple"], False, "tight single-thread loop, 16-256 B"),
    program("glibc-thread", ["glibc-thread"], True, "tight per-thread loops, mostly small"),
    program("alloc-test", ["mixed", "-m", "alloc-test"], True, "mixed sizes, random lifetimes"),
    program("mstress", ["mixed", "-m", "mstress"], True, "mixed sizes, cross-thread, rounds"),
    program("rptest", ["mixed", "-m", "rptest"], True, "16 B-16 KiB, some cross-thread"),
    program("malloc-large", ["malloc-large"], False, "64 KiB-32 MiB blocks, every page written"),
    program("sh6bench", ["sh", "-m", "same"], True, "many sizes freed LIFO and FIFO"),
    program("sh8bench", ["sh", "-m", "cross"], True, "as sh6bench, leftovers freed by the next thread"),
    program("mleak", ["mleak"], False, "growing, fragmenting, churning working set"),
    real("redis", "20000", "500", "redis-server under redis-benchmark, 7 commands"),
    real("sqlite", "40000", "300", "sqlite3 on a generated SQL workload, in memory"),
    real("lua", "3", "1", "lua5.4: trees, strings, tables (bench/scripts/alloc.lua)"),
    real("python", "3", "1", "python3: objects, strings, dicts (bench/scripts/alloc.py)"),
    real("gcc", "40", "3", "gcc -O2 compiling and linking a generated C file"),
]


def find_workload(name):
    for workload in WORKLOADS:
        if workload.name == name:
            return workload
    raise KeyError(name)


@dataclass
class Allocator:
    name: str
    preload: str                  # the library to preload; '' = glibc (none)
    package: str = ""             # Debian package of a peer


def defines_malloc(library):
    """True when the shared library exports malloc (or nm is unavailable)."""
    try:
        symbols = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True,
                                 text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return True
    return any(line.split()[-1] == "malloc" for line in symbols.splitlines() if line.strip())


def find_allocators(build_dir):
    """Returns (allocators found, messages about the missing ones)."""
    found, missing = [], []
    r3 = os.path.join(build_dir, "libr3malloc.so")
    if not os.path.exists(r3):
        missing.append(f"r3malloc: {r3} not built (run `make build`)")
    elif not defines_malloc(r3):
        missing.append(f"r3malloc: {r3} does not define malloc yet")
    else:
        found.append(Allocator("r3malloc", r3))
    found.append(Allocator("glibc", ""))
    peers = [("jemalloc", "libjemalloc.so.2", "libjemalloc2"),
             ("tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
             ("mimalloc", "libmimalloc.so.2", "libmimalloc2.0")]
    absent = []
    for name, library, package in peers:
        path = os.path.join(LIBDIR, library)
        if os.path.exists(path):
            found.append(Allocator(name, path, package))
        else:
            absent.append(package)
    if absent:
        missing.append("peers missing; add them with: apt-get install -y " + " ".join(absent))
    return found, missing


def spawner(build_dir):
    """The launcher that measures each run (bench/spawn.c)."""
    return os.path.join(build_dir, "bench", "bench-spawn")


def command(workload, threads, tiny, build_dir, workdir):
    """The argv of one measured run."""
    if workload.real:
        size = workload.tiny_size if tiny else workload.size
        return [os.path.join(ROOT, "bench", "real", workload.name), "run", size, workdir]
    argv = [os.path.join(build_dir, "bench", workload.argv[0])] + workload.argv[1:]
    if tiny:
        argv.append("--tiny")
    if workload.threaded:
        argv += ["-t", str(threads)]
    return argv


def prepare_command(workload, tiny, workdir):
    size = workload.tiny_size if tiny else workload.size
    return [os.path.join(ROOT, "bench", "real", workload.name), "prepare", size, workdir]


def environment(workload, allocator, build_dir):
    """The environment of one run: the allocator preloaded into the program."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if workload.real:
        env["BENCH_PRELOAD"] = allocator.preload
        env["BENCH_GLIBC_MALLOC"] = os.path.join(build_dir, "bench", "libbench-glibc-malloc.so")
    elif allocator.preload:
        env["LD_PRELOAD"] = allocator.preload
    return env
