#!/usr/bin/env bash
# Inner loop of forkexec.sh: many short-lived processes, each started by
# fork+exec from this shell (and from the children's own forks: pipelines,
# command substitutions, background jobs). Run it in an empty directory with
# LD_PRELOAD set; every process it starts inherits the preload.
# Usage: forkexec-loop.sh ITERATIONS
set -u
iterations=$1
mkdir -p tree/a/b tree/c
for ((i = 0; i < iterations; i++)); do
  seq "$i" $((i + 60)) | awk -v i="$i" '{ printf "%05d %s\n", ($1 * 7919 + i) % 1000, $1 }' >"tree/a/b/data$((i % 5))"
  echo "iteration $i"
  sort -k1,1n -k2,2nr "tree/a/b/data$((i % 5))" | head -3
  awk '{ sum += $1 } END { print "sum", sum, NR }' tree/a/b/data*
  sh -c 'echo "sh $1 $(( $1 * $1 ))"' sh "$i"
  words=$(tr -s ' ' '\n' <"tree/a/b/data$((i % 3))" | sort -u | wc -l)
  echo "words $words"
  if ((i % 10 == 0)); then
    printf 'file %d\n' "$i" >"tree/c/f$i"
    find tree -type f | sort | tr '\n' ' '
    echo
    tar -cf "snapshot.tar" --sort=name tree
    tar -tf snapshot.tar | sort | cksum
    mkdir -p restore && tar -xf snapshot.tar -C restore && cmp -s tree/a/b/data0 restore/tree/a/b/data0 &&
      echo "restored"
    rm -rf restore
  fi
  # Background jobs: several children forked at once, then reaped.
  for j in 1 2 3; do
    (printf '%d\n' $((i * j)) | cat >"job$j") &
  done
  wait
  cat job1 job2 job3 | sort -n | tr '\n' ' '
  echo
done
