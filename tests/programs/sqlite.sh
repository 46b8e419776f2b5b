#!/usr/bin/env bash
# SQLite shell under the preload: 200,000 rows inserted (bulk and one
# statement at a time), indexed, queried, updated, deleted and vacuumed in an
# on-disk database.
. "$(dirname "$0")/lib.sh"

programs_need sqlite3 sqlite3
rows=$(programs_scaled 200000 1000)
single_rows=$((rows / 10))

# Emits the whole script; the statements depend only on $rows.
sqlite_script() {
  cat <<SQL
PRAGMA synchronous = OFF;
PRAGMA journal_mode = MEMORY;
PRAGMA cache_size = -131072;
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER,
                  price REAL, payload BLOB);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $rows)
INSERT INTO item
  SELECT x, printf('item-%08d-%s', x, substr('abcdefghijklmnopqrstuvwxyz', 1 + x % 26)),
         (x * 7919) % 1009, ((x * 104729) % 100000) / 100.0,
         zeroblob(x % 200)
  FROM n;
CREATE INDEX item_grp ON item(grp, price);
CREATE INDEX item_name ON item(name);
CREATE TABLE note(id INTEGER PRIMARY KEY, item_id INTEGER, body TEXT);
BEGIN;
SQL
  awk -v n="$single_rows" -v rows="$rows" 'BEGIN {
    for (i = 1; i <= n; i++)
      printf "INSERT INTO note(item_id, body) VALUES (%d, %s);\n",
             (i * 31) % rows + 1, "'\''note " i " " substr("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1, i % 30) "'\''"
  }'
  cat <<SQL
COMMIT;
SELECT 'count', count(*), sum(grp), round(sum(price), 2), sum(length(payload)) FROM item;
SELECT 'group', grp, count(*), round(avg(price), 4), min(name), max(name)
  FROM item GROUP BY grp ORDER BY count(*) DESC, grp LIMIT 15;
SELECT 'top', id, name, price FROM item ORDER BY price DESC, id LIMIT 10;
SELECT 'like', count(*) FROM item WHERE name LIKE '%-000%7-%';
SELECT 'join', count(*), sum(length(note.body)) FROM note JOIN item ON item.id = note.item_id
  WHERE item.grp < 500;
SELECT 'window', grp, id, rank() OVER (PARTITION BY grp ORDER BY price DESC, id) AS r
  FROM item WHERE grp IN (3, 500, 1000) ORDER BY grp, r LIMIT 30;
SELECT 'json', length(json_group_array(json_object('id', id, 'name', name)))
  FROM item WHERE id % 97 = 0;
SELECT 'distinct', count(DISTINCT substr(name, -3)) FROM item;
UPDATE item SET name = name || '-updated', payload = zeroblob(300) WHERE id % 3 = 0;
DELETE FROM item WHERE id % 5 = 0;
SELECT 'after', count(*), sum(length(name)), sum(length(payload)) FROM item;
VACUUM;
PRAGMA integrity_check;
SELECT 'sorted', group_concat(name, ',') FROM (SELECT name FROM item ORDER BY name DESC LIMIT 20);
SQL
}

sqlite_workload() {
  sqlite_script >script.sql
  $RUN sqlite3 -init /dev/null -batch -bail test.db <script.sql
}

programs_check_bound sqlite3 :memory: 'select 1'
programs_compare sqlite_workload
