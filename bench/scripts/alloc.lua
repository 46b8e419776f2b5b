-- Allocation-heavy Lua: binary trees, string building and table churn, each
-- checked against a count computed independently. Exits 1 on a mismatch.
-- usage: lua5.4 alloc.lua SCALE
local scale = tonumber(arg[1]) or 10

local function fail(what)
  io.stderr:write("verification failed: ", what, "\n")
  os.exit(1)
end

-- Binary trees: each node is a table; depth d has 2^(d+1) - 1 nodes.
local function tree(depth)
  if depth == 0 then return {} end
  return { tree(depth - 1), tree(depth - 1) }
end
local function count(node)
  if not node[1] then return 1 end
  return 1 + count(node[1]) + count(node[2])
end
local long_lived = tree(scale + 4)
for round = 1, scale * 4 do
  local depth = 4 + round % (scale + 1)
  if count(tree(depth)) ~= 2 ^ (depth + 1) - 1 then fail("tree of depth " .. depth) end
end

-- Strings: formatted pieces of growing length, joined and split again.
local pieces, total = {}, 0
for i = 1, scale * 20000 do
  local piece = string.format("%d:%s", i, string.rep("x", i % 97))
  pieces[#pieces + 1] = piece
  total = total + #piece
end
local joined = table.concat(pieces, ",")
if #joined ~= total + #pieces - 1 then fail("joined length") end
local parts = 0
for _ in joined:gmatch("[^,]+") do parts = parts + 1 end
if parts ~= #pieces then fail("split count") end

-- Table churn: a map that grows, loses every third key and grows again.
local map, live = {}, 0
for i = 1, scale * 30000 do
  map["k" .. i] = { i, tostring(i) }
  live = live + 1
  if i % 3 == 0 then
    map["k" .. (i - 1)] = nil
    live = live - 1
  end
end
local seen = 0
for key, value in pairs(map) do
  if key ~= "k" .. value[1] or value[2] ~= tostring(value[1]) then fail("map entry " .. key) end
  seen = seen + 1
end
if seen ~= live then fail("map size") end
if count(long_lived) ~= 2 ^ (scale + 5) - 1 then fail("long-lived tree") end
print(string.format("lua: verified, %d nodes, %d bytes of strings, %d keys", count(long_lived), total, live))
