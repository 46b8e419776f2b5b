"""Allocation-heavy Python: object trees, string building, dict and list
churn, each checked against a count computed independently.

usage: python3 alloc.py SCALE     (exit 1 on a mismatch)
"""
import sys


class Node:
    __slots__ = ("left", "right", "payload")

    def __init__(self, left, right, payload):
        self.left, self.right, self.payload = left, right, payload


def tree(depth):
    if depth == 0:
        return Node(None, None, b"")
    return Node(tree(depth - 1), tree(depth - 1), bytes(depth * 40))


def count(node):
    return 1 if node.left is None else 1 + count(node.left) + count(node.right)


def fail(what):
    sys.stderr.write(f"verification failed: {what}\n")
    sys.exit(1)


def main():
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    long_lived = tree(scale + 4)
    for round_ in range(scale * 3):
        depth = 4 + round_ % (scale + 1)
        if count(tree(depth)) != 2 ** (depth + 1) - 1:
            fail(f"tree of depth {depth}")

    # Strings longer than the small-object limit go to malloc.
    pieces = [f"{i}:" + "y" * (i % 1500) for i in range(scale * 8000)]
    total = sum(map(len, pieces))
    joined = ",".join(pieces)
    if len(joined) != total + len(pieces) - 1 or len(joined.split(",")) != len(pieces):
        fail("joined strings")

    # A dict that grows, loses every third key and grows again; lists resized.
    table = {}
    for i in range(scale * 30000):
        table[f"k{i}"] = [i] * (i % 50)
        if i % 3 == 0:
            del table[f"k{i // 2}"]
    for key, value in table.items():
        if len(value) != int(key[1:]) % 50:
            fail(f"entry {key}")
    if count(long_lived) != 2 ** (scale + 5) - 1:
        fail("long-lived tree")
    print(f"python: verified, {len(table)} keys, {total} bytes of strings")


if __name__ == "__main__":
    main()
