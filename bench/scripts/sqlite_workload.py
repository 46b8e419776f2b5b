"""Writes the SQL workload of bench/real/sqlite and the output it must give.

usage: sqlite_workload.py ROWS SQL_FILE EXPECTED_FILE

The workload inserts ROWS rows of pseudo-random text in transactions,
builds two indexes, updates and deletes a share of the rows, then asks
aggregate questions whose answers this script computes itself.
"""
import random
import sys

GROUPS = 100


def row_text(rng):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(rng.randint(8, 120)))


def main():
    rows, sql_path, expected_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rng = random.Random(20261127)
    items = {}
    with open(sql_path, "w") as sql:
        sql.write("CREATE TABLE grp(id INTEGER PRIMARY KEY, name TEXT);\n")
        sql.write("CREATE TABLE item(id INTEGER PRIMARY KEY, grp INTEGER, val INTEGER, txt TEXT);\n")
        sql.write("BEGIN;\n")
        for g in range(GROUPS):
            sql.write(f"INSERT INTO grp VALUES({g}, 'group-{g}');\n")
        for i in range(1, rows + 1):
            if i % 1000 == 0:
                sql.write("COMMIT;\nBEGIN;\n")
            item = [rng.randrange(GROUPS), rng.randrange(1000000), row_text(rng)]
            items[i] = item
            sql.write(f"INSERT INTO item VALUES({i}, {item[0]}, {item[1]}, '{item[2]}');\n")
        sql.write("COMMIT;\n")
        sql.write("CREATE INDEX item_grp ON item(grp, val);\n")
        sql.write("CREATE INDEX item_txt ON item(txt);\n")
        sql.write("UPDATE item SET val = val + 7 WHERE id % 5 = 0;\n")
        sql.write("DELETE FROM item WHERE id % 7 = 3;\n")
        sql.write("SELECT count(*), sum(val), sum(length(txt)) FROM item;\n")
        sql.write("SELECT g.name, count(*), sum(i.val) FROM item i JOIN grp g ON g.id = i.grp "
                  "GROUP BY g.id ORDER BY g.id;\n")
        sql.write("SELECT count(DISTINCT txt) FROM item;\n")
        sql.write("SELECT length(group_concat(txt)) FROM item WHERE grp < 10;\n")
        sql.write("SELECT id FROM item ORDER BY txt, id LIMIT 5;\n")

    for i, item in items.items():
        if i % 5 == 0:
            item[1] += 7
    live = {i: item for i, item in items.items() if i % 7 != 3}
    out = [f"{len(live)}|{sum(v[1] for v in live.values())}|{sum(len(v[2]) for v in live.values())}"]
    for g in range(GROUPS):
        members = [v for v in live.values() if v[0] == g]
        if members:
            out.append(f"group-{g}|{len(members)}|{sum(v[1] for v in members)}")
    out.append(str(len({v[2] for v in live.values()})))
    small = [v[2] for v in live.values() if v[0] < 10]
    out.append(str(sum(map(len, small)) + len(small) - 1) if small else "")
    out.extend(str(i) for i, _ in sorted(live.items(), key=lambda kv: (kv[1][2], kv[0]))[:5])
    with open(expected_path, "w") as expected:
        expected.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
