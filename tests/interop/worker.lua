-- The Lua side of the cross-language interop test (driven by interop.py).
-- usage: lua5.4 worker.lua write PLAN DB | read PLAN DB...
-- (the plan format is described in interop_c.c; the module is found through
-- LUA_CPATH)
local cellardb = require "cellardb"

local pattern
local function decode(tok)
  if tok:sub(1, 1) == "p" then
    local n = tonumber(tok:sub(2))
    if not pattern then
      local t = {}
      for i = 0, 250 do t[#t + 1] = string.char(i) end
      pattern = table.concat(t)
    end
    return (pattern:rep(n // 251 + 1)):sub(1, n)
  end
  return (tok:sub(2):gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local function read_plan(path)
  local ops = {}
  for line in io.lines(path) do
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local t = {}
      for w in line:gmatch("[^ ]+") do t[#t + 1] = w end
      local op = { kind = t[1], pairs = {}, ttl = 0 }
      if op.kind == "ttl" then
        op.pairs[1] = { decode(t[2]), decode(t[3]) }
        op.ttl = math.tointeger(tonumber(t[4]))
      else
        for i = 2, #t, 2 do op.pairs[#op.pairs + 1] = { decode(t[i]), decode(t[i + 1]) } end
      end
      ops[#ops + 1] = op
    end
  end
  return ops
end

local function write(ops, path)
  local db = assert(cellardb.open(path, { flag = "n" }))
  for _, op in ipairs(ops) do
    if op.kind == "put" then
      db:put(op.pairs[1][1], op.pairs[1][2])
    elseif op.kind == "ttl" then
      db:put(op.pairs[1][1], op.pairs[1][2], op.ttl)
    else
      local tx = db:begin()
      for _, p in ipairs(op.pairs) do tx:put(p[1], p[2]) end
      if op.kind == "commit" then tx:commit() else tx:rollback() end
    end
  end
  db:close()
end

local function verify(ops, path)
  local db, msg = cellardb.open(path, { flag = "r" })
  if not db then return "open: " .. tostring(msg) end
  local present = 0
  local why
  for _, op in ipairs(ops) do
    for i, p in ipairs(op.pairs) do
      local k, v = p[1], p[2]
      local got = db:get(k)
      if op.kind == "abort" then
        if got ~= nil or db:has(k) then
          why = ("key %d of the aborted transaction is present"):format(i - 1)
        end
      elseif got == nil then
        why = ("%s record (%d-byte key) is missing"):format(op.kind, #k)
      elseif got ~= v then
        why = ("%s record (%d-byte key): %d-byte value differs (want %d bytes)")
          :format(op.kind, #k, #got, #v)
      else
        present = present + 1
        if op.kind == "ttl" then
          local left = db:ttl(k)
          if not left or left <= 0 or left > op.ttl then
            why = "ttl of the TTL record is " .. tostring(left)
          end
        end
      end
      if why then db:close(); return why end
    end
  end
  local n = #db
  db:close()
  if n ~= present then return ("count %d, want %d"):format(n, present) end
  return nil
end

local mode, plan = arg[1], arg[2]
if (mode ~= "write" and mode ~= "read") or not arg[3] then
  io.stderr:write("usage: lua5.4 worker.lua write PLAN DB | read PLAN DB...\n")
  os.exit(2)
end
local ops = read_plan(plan)
if mode == "write" then
  write(ops, arg[3])
  os.exit(0)
end
local failed = false
for i = 3, #arg do
  local ok, why = pcall(verify, ops, arg[i])
  if ok and not why then
    print("PASS " .. arg[i])
  else
    print(("FAIL %s: %s"):format(arg[i], tostring(why)))
    failed = true
  end
end
os.exit(failed and 1 or 0)
