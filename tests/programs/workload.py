"""Allocation-heavy, deterministic Python workload for the preload tests.

Usage: python3 workload.py [SCALE]  (SCALE multiplies every round count)

Run with PYTHONMALLOC=malloc so that every object, small ones included,
comes from the C allocator under test rather than from pymalloc's arenas.
Everything printed depends only on the computation, never on addresses,
hash seeds or timing, so two runs must print the same bytes.
"""

import hashlib
import json
import multiprocessing
import sys
import threading
from collections import Counter, OrderedDict, deque


def rng(seed):
    """A tiny linear congruential generator: deterministic on any Python."""
    state = seed
    while True:
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        yield state >> 33


def digest(value):
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def dicts_and_lists(rounds):
    draw = rng(1)
    table = {}
    for i in range(rounds):
        key = "k%d" % (next(draw) % 50000)
        bucket = table.setdefault(key, [])
        bucket.append(i)
        if len(bucket) > 8:
            del bucket[: len(bucket) // 2]
        if i % 7 == 0:
            table.pop("k%d" % (next(draw) % 50000), None)
    sizes = sorted(len(v) for v in table.values())
    return len(table), sum(sizes), digest(sorted(table.items())[:200])


def strings(rounds):
    draw = rng(2)
    parts = []
    for _ in range(rounds):
        n = next(draw) % 300
        parts.append(("abcdefghij" * (n // 10 + 1))[:n].upper())
    joined = "|".join(parts)
    words = joined.split("|")
    replaced = joined.replace("ABC", "x" * 40)
    counts = Counter(len(w) for w in words)
    return len(joined), len(replaced), digest(sorted(counts.items()))


def json_round_trips(rounds):
    draw = rng(3)
    doc = {
        "items": [
            {
                "id": i,
                "name": "item-%d" % i,
                "tags": ["t%d" % (next(draw) % 97) for _ in range(next(draw) % 9)],
                "weight": (next(draw) % 100000) / 7.0,
                "nested": {"a": [i] * (i % 13), "b": None, "c": i % 2 == 0},
            }
            for i in range(2000)
        ]
    }
    text = json.dumps(doc, sort_keys=True)
    for _ in range(rounds):
        doc = json.loads(text)
        doc["items"].append(doc["items"].pop(0))
        text = json.dumps(doc, sort_keys=True)
    return len(text), digest(text)


def growing_and_shrinking(rounds):
    """Buffers that grow by realloc and then shrink, across size classes."""
    out = []
    for i in range(rounds):
        buf = bytearray()
        for j in range(64):
            buf += bytes([j & 0xFF]) * (1 << (j % 18))
        out.append(bytes(buf[: (i * 4099) % len(buf)]))
        del buf
    queue = deque(maxlen=1000)
    for i in range(100000):
        queue.append(str(i) * (i % 5))
    return sum(len(b) for b in out), digest([len(b) for b in out]), len(queue)


def ordered_churn(rounds):
    cache = OrderedDict()
    draw = rng(4)
    hits = 0
    for _ in range(rounds):
        key = next(draw) % 5000
        if key in cache:
            hits += 1
            cache.move_to_end(key)
        else:
            cache[key] = [key] * (key % 64)
            if len(cache) > 2000:
                cache.popitem(last=False)
    return hits, len(cache)


def threaded(workers, rounds):
    """Threads allocate and free concurrently (and free each other's data)."""
    results = [None] * workers
    shared = []
    lock = threading.Lock()

    def work(index):
        draw = rng(100 + index)
        mine = []
        for i in range(rounds):
            mine.append({"i": i, "s": "v" * (next(draw) % 1000)})
            if i % 3 == 0:
                with lock:
                    shared.append(mine.pop())
            if i % 5 == 0 and shared:
                with lock:
                    if shared:
                        shared.pop(0)
        results[index] = sum(len(d["s"]) for d in mine)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def json_size(seed):
    return len(json.dumps([{"k": str(j) * ((seed + j) % 50)} for j in range(5000)]))


def forked(tasks):
    """Children forked while a thread of the parent is allocating."""
    stop = threading.Event()

    def background():
        while not stop.is_set():
            _ = [str(i) * 10 for i in range(1000)]

    thread = threading.Thread(target=background)
    thread.start()
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            sizes = pool.map(json_size, range(tasks))
    finally:
        stop.set()
        thread.join()
    return sum(sizes)


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0

    def n(rounds):
        return max(1, int(rounds * scale))

    print("dicts_and_lists", dicts_and_lists(n(400000)))
    print("strings", strings(n(100000)))
    print("json_round_trips", json_round_trips(n(10)))
    print("growing_and_shrinking", growing_and_shrinking(n(40)))
    print("ordered_churn", ordered_churn(n(300000)))
    print("threaded", threaded(4, n(30000)))
    print("forked", forked(n(16)))


main()
