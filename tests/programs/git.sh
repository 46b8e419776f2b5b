#!/usr/bin/env bash
# git under the preload: init, add, commit (with a branch and a merge), log,
# blame, archive, gc, repack and fsck on a scratch repository. Author and
# committer dates are fixed, so every hash and every line is reproducible.
. "$(dirname "$0")/lib.sh"

programs_need git git
commits=$(programs_scaled 20 4)

# No user or system configuration, and no outer repository (a hook's
# GIT_DIR), may leak in.
while read -r name; do unset "$name"; done < <(compgen -e GIT_)
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=Author GIT_AUTHOR_EMAIL=author@example.com
export GIT_COMMITTER_NAME=Committer GIT_COMMITTER_EMAIL=committer@example.com
export TZ=UTC LC_ALL=C

# Writes the files of commit number $1 (plain shell, no preload): round 0
# creates 120 files, every later round rewrites a tenth of them and adds one.
write_tree() {
  mkdir -p src/dir0 src/dir1 src/dir2 src/dir3 src/dir4 src/dir5
  awk -v round="$1" 'BEGIN {
    for (f = 0; f < 120 + round; f++) {
      if (round > 0 && f % 10 != round % 10 && f != 119 + round) continue
      file = sprintf("src/dir%d/file%03d.txt", f % 6, f)
      printf "" > file
      for (line = 0; line < 40 + f % 50; line++)
        printf "file %d line %d value %d\n", f, line, (f * line + (line % 5 == 0 ? round : 0)) % 997 >> file
      close(file)
    }
  }'
}

# git_at N COMMAND...: run git with the clock stopped at commit N's time.
git_at() {
  local when="@$((1700000000 + $1 * 3600)) +0000"
  shift
  GIT_AUTHOR_DATE=$when GIT_COMMITTER_DATE=$when $RUN git "$@"
}

git_workload() {
  $RUN git init -q -b main repo && cd repo || return
  local i
  for ((i = 0; i < commits; i++)); do
    write_tree "$i"
    if [ "$i" -gt 0 ]; then rm "src/dir$((i % 6))/file$(printf %03d "$i").txt"; fi
    git_at "$i" add -A . && git_at "$i" commit -q -m "round $i" || return
    if [ "$i" = $((commits / 2)) ]; then
      git_at "$i" checkout -q -b side && echo "side work" >side.txt &&
        git_at "$i" add side.txt && git_at "$i" commit -q -m "side branch" &&
        git_at "$i" checkout -q main || return
    fi
  done
  git_at "$commits" merge -q --no-ff -m "merge side" side || return
  git_at "$commits" tag -a v1 -m "release v1"
  $RUN git log --stat --format='%H %an %ad %s' --date=iso-strict
  $RUN git log --graph --oneline --all
  $RUN git blame -s src/dir1/file001.txt
  $RUN git diff --stat HEAD~5 HEAD
  $RUN git grep -c 'value 99' v1
  $RUN git archive --format=tar v1 | sha256sum
  $RUN git gc -q
  $RUN git repack -q -a -d -f --window=30 --depth=20
  $RUN git fsck --full --strict --no-progress
  $RUN git count-objects -v | grep -E '^(count|in-pack|packs|prune-packable|garbage):'
  $RUN git rev-list --objects --all | sort
}

programs_check_bound git --version
programs_compare git_workload
