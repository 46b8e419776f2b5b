-- Table- and string-heavy Lua workload for the preload tests.
-- Usage: lua5.4 workload.lua [SCALE]  (SCALE multiplies every round count)
-- Lua allocates everything through realloc/free, so this exercises growing
-- and shrinking blocks. Output never depends on addresses or on the
-- randomised string hash seed: hash-part traversals are sorted first.

local scale = tonumber(arg[1] or "1")
local function n(rounds) return math.max(1, math.floor(rounds * scale)) end

-- Deterministic generator (math.random is seeded randomly in Lua 5.4).
local state = 12345
local function draw(limit)
  state = (state * 1103515245 + 12345) % 2147483648
  return state % limit
end

local function checksum(s)
  local h = 0
  for i = 1, #s, 7 do h = (h * 31 + s:byte(i)) % 4294967291 end
  return h
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- Arrays that grow, are filtered into new arrays and sorted.
local function arrays(rounds)
  local total = 0
  for r = 1, rounds do
    local t = {}
    for i = 1, 2000 + draw(2000) do t[i] = i * r end
    local kept = {}
    for i = 1, #t do
      if i % 3 ~= 0 then kept[#kept + 1] = t[i] end
    end
    t = nil
    table.sort(kept, function(a, b) return a > b end)
    total = total + #kept + kept[1]
  end
  return total
end

-- Hash tables keyed by generated strings, with deletions.
local function hashes(rounds)
  local t, live = {}, 0
  for i = 1, rounds do
    local key = "key" .. draw(40000)
    if t[key] then
      t[key] = nil
      live = live - 1
    else
      t[key] = { i, key:rep(1 + i % 5), { nested = i } }
      live = live + 1
    end
  end
  local keys = sorted_keys(t)
  local acc = {}
  for i = 1, #keys, 97 do acc[#acc + 1] = keys[i] .. "=" .. #t[keys[i]][2] end
  return live, #keys, checksum(table.concat(acc, ";"))
end

-- String building, patterns and substitutions.
local function strings(rounds)
  local parts = {}
  for i = 1, rounds do
    parts[#parts + 1] = string.format("%05d:%s", i, ("ab"):rep(draw(60)))
  end
  local text = table.concat(parts, "\n")
  local replaced, count = text:gsub("(%d+):(a?b?)", "%2<%1>")
  local words = 0
  for _ in text:gmatch("%d+") do words = words + 1 end
  local upper = text:upper():sub(1, 100000):reverse()
  return #text, #replaced, count, words, checksum(upper)
end

-- Many short-lived objects: closures, coroutines and garbage.
local function churn(rounds)
  local sum = 0
  for i = 1, rounds do
    local co = coroutine.wrap(function(a)
      local list = {}
      for j = 1, 50 do list[j] = tostring(a + j) end
      coroutine.yield(#table.concat(list))
      return 0
    end)
    sum = sum + co(i)
    if i % 1000 == 0 then collectgarbage("step", 100) end
  end
  collectgarbage("collect")
  return sum
end

print("arrays", arrays(n(100)))
print("hashes", hashes(n(200000)))
print("strings", strings(n(100000)))
print("churn", churn(n(30000)))
