#!/usr/bin/env bash
# redis-server under the preload (Debian's build calls malloc, realloc, free
# and malloc_usable_size by their libc names, so they bind to the preloaded
# library), on a private port of 127.0.0.1. The data written and read back
# must match a server on the system allocator, before and after a bounded
# redis-benchmark run, and after a BGSAVE (a fork of the threaded server)
# loaded by a new server; timings are not compared. The clients are
# preloaded too. Every server the test starts is stopped when it ends.
. "$(dirname "$0")/lib.sh"

programs_need redis-server redis-server
programs_need redis-cli redis-tools
programs_need redis-benchmark redis-tools
requests=$(programs_scaled 10000 1000)
keys=$(programs_scaled 3000 300)

server_job=    # the background job: a wrapper (timeout) around the server
server_pid=    # the server process itself
server_port=
server_dir=

# True when the server answering on server_port is the one this test
# started: parallel tests may have picked the same port.
server_is_ours() {
  [ "$(redis-cli -p "$server_port" config get dir 2>/dev/null | sed -n 2p)" = "$server_dir" ]
}

# Started with `timeout` as a backstop: even if this script is killed before
# its EXIT trap runs, the server cannot outlive the test by more than that.
start_server() {
  local attempt tick
  server_dir=$PWD
  for attempt in 1 2 3 4 5; do
    server_port=$((20000 + (RANDOM + $$ * attempt) % 30000))
    $RUN timeout 240 redis-server --port "$server_port" --bind 127.0.0.1 \
      --save '' --appendonly no --dir "$server_dir" --logfile "$server_dir/server.log" \
      --protected-mode yes --daemonize no &
    server_job=$!
    for ((tick = 0; tick < 100; tick++)); do
      if server_is_ours; then
        server_pid=$(redis-cli -p "$server_port" info server | tr -d '\r' |
          sed -n 's/^process_id://p')
        return 0
      fi
      kill -0 "$server_job" 2>/dev/null || break  # port taken: try another
      sleep 0.1
    done
    stop_server
  done
  echo "redis-server did not start; log:" >&2
  cat "$server_dir/server.log" >&2
  return 1
}

stop_server() {
  [ -n "$server_job" ] || return 0
  server_is_ours && redis-cli -p "$server_port" shutdown nosave >/dev/null 2>&1
  local tick
  for ((tick = 0; tick < 50; tick++)); do
    kill -0 "$server_job" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_job" 2>/dev/null; then
    [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
    kill -KILL "$server_job" 2>/dev/null
  fi
  wait "$server_job" 2>/dev/null
  server_job='' server_pid=''
}
programs_on_exit stop_server

cli() {
  $RUN redis-cli -p "$server_port" "$@"
}

# Writes values of many sizes and kinds; every value is a function of its key.
write_data() {
  awk -v keys="$keys" 'BEGIN {
    for (i = 0; i < keys; i++) {
      printf "SET str:%d %s\n", i, substr(sprintf("%0500d", 0), 1, (i * 37) % 500) "v" i
      printf "APPEND str:%d -tail%d\n", i, i
      printf "RPUSH list:%d", i % 50
      for (j = 0; j < 5; j++) printf " item%d.%d", i, j
      printf "\n"
      printf "HSET hash:%d field%d value%d\n", i % 40, i, i * i
      printf "ZADD zset:%d %d member%d\n", i % 30, (i * 7919) % 10007, i
      printf "SADD set:%d m%d\n", i % 20, i % 700
      printf "INCRBY counter:%d %d\n", i % 10, i
    }
    for (i = 0; i < keys; i += 3) printf "DEL str:%d\n", i
    for (i = 0; i < 50; i += 2) printf "LTRIM list:%d 10 200\n", i
  }' | cli >/dev/null
  local size
  for size in 1 1000 100000 1048576 5000000; do
    head -c "$size" /dev/zero | tr '\0' 'x' >"value.$size"
    cli -x SET "big:$size" <"value.$size" >/dev/null
  done
}

# Reads the data back in an order that does not depend on the server's hash
# seed, and checks the big values byte for byte.
read_data() {
  awk -v keys="$keys" 'BEGIN {
    for (i = 0; i < keys; i += 7) printf "GET str:%d\n", i
    for (i = 0; i < 50; i++) printf "LRANGE list:%d 0 -1\n", i
    for (i = 0; i < 40; i++) printf "HLEN hash:%d\nHGET hash:%d field%d\n", i, i, i + 40
    for (i = 0; i < 30; i++) printf "ZRANGE zset:%d 0 -1 WITHSCORES\n", i
    for (i = 0; i < 20; i++) printf "SCARD set:%d\nSISMEMBER set:%d m%d\n", i, i, i
    for (i = 0; i < 10; i++) printf "GET counter:%d\n", i
    print "DBSIZE"
  }' | cli
  local size
  for size in 1 1000 100000 1048576 5000000; do
    cli --raw GET "big:$size" | head -c "$size" | cmp -s - "value.$size" ||
      echo "big:$size read back differs"
  done
}

redis_workload() {
  start_server || return
  if [ -n "$RUN" ] && ! grep -qF "$PRELOAD_LIB" "/proc/$server_pid/maps"; then
    echo "$PRELOAD_LIB is not mapped in redis-server" >&2
  fi
  write_data
  read_data >before.txt
  cat before.txt
  # Load in another database (random keys, timings not compared); then the
  # first database must read back exactly as before.
  $RUN redis-benchmark -h 127.0.0.1 -p "$server_port" --dbnum 1 -q \
    -n "$requests" -c 16 -P 4 -r 5000 -d 200 \
    -t set,get,incr,lpush,rpop,sadd,hset,spop,zadd,lrange_100,mset \
    >benchmark.txt 2>&1 || { echo "redis-benchmark failed:" >&2; cat benchmark.txt >&2; }
  read_data >after.txt
  cmp -s before.txt after.txt || echo "data changed during the benchmark" >&2
  # BGSAVE forks the (threaded) server; the child serialises everything.
  # A new server loads the file, and the first database must read back the same.
  save_snapshot || return
  stop_server
  start_server || return
  read_data >reloaded.txt
  cmp -s before.txt reloaded.txt || echo "data differs after BGSAVE and reload" >&2
  cli ping
  stop_server
}

# Runs BGSAVE and waits until the forked child has written dump.rdb.
save_snapshot() {
  cli bgsave >/dev/null
  local tick status
  for ((tick = 0; tick < 300; tick++)); do
    status=$(cli info persistence | tr -d '\r')
    if grep -q '^rdb_bgsave_in_progress:0' <<<"$status"; then
      grep -q '^rdb_last_bgsave_status:ok' <<<"$status" && return 0
      echo "BGSAVE failed" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "BGSAVE did not finish" >&2
  return 1
}

programs_check_bound redis-server --version
programs_compare redis_workload
