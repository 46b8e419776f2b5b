#!/usr/bin/env bash
# Lua 5.4 under the preload: tables and strings (workload.lua); Lua's whole
# heap goes through realloc and free.
. "$(dirname "$0")/lib.sh"

programs_need lua5.4 lua5.4
unset LUA_INIT LUA_INIT_5_4 LUA_PATH LUA_PATH_5_4 LUA_CPATH LUA_CPATH_5_4

lua_workload() {
  $RUN lua5.4 "$HERE/workload.lua" "$SCALE"
}

programs_check_bound lua5.4 -e ''
programs_compare lua_workload
