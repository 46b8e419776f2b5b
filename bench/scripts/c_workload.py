"""Writes the C program that bench/real/gcc compiles, and what it must print.

usage: c_workload.py FUNCTIONS C_FILE EXPECTED_FILE

Each generated function mixes a 32-bit value through a random chain of
arithmetic, shifts, branches and a switch, enough for gcc -O2 to work on;
main chains them all. This script evaluates the same chain in Python.
"""
import random
import sys

MASK = 0xFFFFFFFF
STEPS = 12


def make_function(rng):
    """A list of (kind, constants) steps; emit() and run() interpret it."""
    steps = []
    for _ in range(STEPS):
        kind = rng.choice(["muladd", "xorshift", "branch", "switch", "loop"])
        steps.append((kind, [rng.randrange(1, MASK) | 1, rng.randrange(1, 31), rng.randrange(MASK),
                             rng.randrange(MASK), rng.randrange(2, 9)]))
    return steps


def emit(index, steps):
    lines = [f"__attribute__((noinline)) uint32_t f{index}(uint32_t x) {{"]
    for kind, (a, s, b, c, n) in steps:
        if kind == "muladd":
            lines.append(f"  x = x * {a}u + {b}u;")
        elif kind == "xorshift":
            lines.append(f"  x ^= x >> {s};")
        elif kind == "branch":
            lines.append(f"  if (x & {1 << s}u) x += {b}u; else x -= {c}u;")
        elif kind == "switch":
            lines.append(f"  switch (x % 4u) {{ case 0: x += {a}u; break; case 1: x ^= {b}u; break;"
                         f" case 2: x = (x << {s}) | (x >> {32 - s}); break; default: x -= {c}u; }}")
        else:
            lines.append(f"  for (unsigned i = 0; i < {n}u; i++) x = x * 33u + i + {b}u;")
    lines.append("  return x;\n}")
    return "\n".join(lines)


def run(steps, x):
    for kind, (a, s, b, c, n) in steps:
        if kind == "muladd":
            x = (x * a + b) & MASK
        elif kind == "xorshift":
            x ^= x >> s
        elif kind == "branch":
            x = (x + b) & MASK if x & (1 << s) else (x - c) & MASK
        elif kind == "switch":
            r = x % 4
            if r == 0:
                x = (x + a) & MASK
            elif r == 1:
                x ^= b
            elif r == 2:
                x = ((x << s) | (x >> (32 - s))) & MASK
            else:
                x = (x - c) & MASK
        else:
            for i in range(n):
                x = (x * 33 + i + b) & MASK
    return x


def main():
    count, c_path, expected_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rng = random.Random(1127)
    functions = [make_function(rng) for _ in range(count)]
    acc = 1
    for i, steps in enumerate(functions):
        acc = run(steps, acc ^ i)
    with open(c_path, "w") as out:
        out.write("#include <stdint.h>\n#include <stdio.h>\n\n")
        for i, steps in enumerate(functions):
            out.write(emit(i, steps) + "\n\n")
        out.write("int main(void) {\n  uint32_t acc = 1;\n")
        for i in range(count):
            out.write(f"  acc = f{i}(acc ^ {i}u);\n")
        out.write('  printf("%u\\n", acc);\n  return 0;\n}\n')
    with open(expected_path, "w") as expected:
        expected.write(f"{acc}\n")


if __name__ == "__main__":
    main()
