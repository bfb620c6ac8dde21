-- lua_bench.lua - micro-benchmark of the cellardb Lua module against its
-- Lua peers.
--
--   lua5.4 tests/bench/lua_bench.lua [-n 50000] [--repeat 3] [--only cellardb,sqlite]
--   (the module must be on package.cpath: LUA_CPATH="build/bindings/lua/?.so;;")
--
-- Workloads (keys 16 bytes, values 100 bytes, as the C harness): put (one
-- commit per put, new keys), get (random order, every key present),
-- iterate (a full scan of keys and values), delete (one commit per delete),
-- and txn100 (transactions of 100 puts).
--
-- Peers:
--   table   a Lua table: the ceiling (no persistence at all)
--   sqlite  SQLite used as a key-value table through lua-dbi-sqlite3
--           (Debian's lua-dbi-sqlite3; Debian has no lsqlite3 for Lua 5.4):
--           a WITHOUT ROWID table, WAL, synchronous=NORMAL (the promise of
--           cellardb's sync="normal"), prepared statements, autocommit.
--           Note: its binds are not binary-safe (they stop at a zero byte),
--           which does not matter for these hex keys.
--
-- Prints ops/s per store and workload, then the ratios cellardb / peer.
-- Numbers are for reading side by side on one machine; nothing is asserted.

local cellardb = require "cellardb"

-- ---- clock: wall time, monotonic when a library offers it ------------------

local now
do
  local ok, system = pcall(require, "system")
  if ok and system.monotime then
    now = system.monotime
  else
    local oks, socket = pcall(require, "socket")
    if oks and socket.gettime then
      now = socket.gettime
    else
      io.stderr:write("lua_bench: no lua-system or luasocket: timing CPU time (os.clock)\n")
      now = os.clock
    end
  end
end

-- ---- arguments ---------------------------------------------------------------

local N, REPEAT, ONLY = 50000, 3, nil
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "-n" then N = math.tointeger(tonumber(arg[i + 1])); i = i + 1
    elseif a == "--repeat" then REPEAT = math.tointeger(tonumber(arg[i + 1])); i = i + 1
    elseif a == "--only" then
      ONLY = {}
      for s in arg[i + 1]:gmatch("[^,]+") do ONLY[s] = true end
      i = i + 1
    elseif a == "-h" or a == "--help" then
      print("usage: lua5.4 lua_bench.lua [-n N] [--repeat R] [--only cellardb,table,sqlite]")
      os.exit(0)
    else
      io.stderr:write("lua_bench: unknown argument ", a, "\n")
      os.exit(2)
    end
    i = i + 1
  end
  assert(N and N > 0 and REPEAT and REPEAT > 0, "bad -n or --repeat")
end

local VALUE = string.rep("v", 100)
local TXN = 100

local function make_keys(n, seed)
  math.randomseed(seed)
  local keys = {}
  for i = 1, n do keys[i] = string.format("%08x%08x", math.random(0, 0xffffffff), i) end
  return keys
end

local function shuffled(keys, seed)
  math.randomseed(seed)
  local t = table.move(keys, 1, #keys, 1, {})
  for i = #t, 2, -1 do
    local j = math.random(i)
    t[i], t[j] = t[j], t[i]
  end
  return t
end

local function tmpdir()
  local p = io.popen("mktemp -d ${TMPDIR:-/tmp}/cellardb-bench.XXXXXX")
  local d = p:read("l")
  p:close()
  return d
end

local function rmtree(d)
  if d and d:match("cellardb%-bench%.") then os.execute("rm -rf '" .. d .. "'") end
end

-- ---- stores --------------------------------------------------------------------
-- Each store: open(dir), put(k, v), get(k), del(k), iterate() -> count,
-- txn(keys, from, to) (puts keys[from..to] in one transaction), close().

local stores = {}

stores[#stores + 1] = {
  name = "cellardb",
  open = function(self, dir)
    self.db = assert(cellardb.open(dir .. "/db", { sync = "normal" }))
  end,
  put = function(self, k, v) self.db:put(k, v) end,
  get = function(self, k) return self.db:get(k) end,
  del = function(self, k) self.db:delete(k) end,
  iterate = function(self)
    local n = 0
    for _ in self.db:pairs() do n = n + 1 end
    return n
  end,
  txn = function(self, keys, from, to)
    self.db:transaction(function(tx)
      for i = from, to do tx:put(keys[i], VALUE) end
    end)
  end,
  close = function(self) self.db:close() end,
}

stores[#stores + 1] = {
  name = "table",
  open = function(self) self.t = {} end,
  put = function(self, k, v) self.t[k] = v end,
  get = function(self, k) return self.t[k] end,
  del = function(self, k) self.t[k] = nil end,
  iterate = function(self)
    local n = 0
    for _ in pairs(self.t) do n = n + 1 end
    return n
  end,
  txn = function(self, keys, from, to)
    local t = self.t
    for i = from, to do t[keys[i]] = VALUE end
  end,
  close = function(self) self.t = nil end,
}

local has_dbi, DBI = pcall(require, "DBI")
if has_dbi and pcall(DBI.Connect, "SQLite3", ":memory:") then
  local function exec(dbh, sql)
    local sth = assert(dbh:prepare(sql))
    assert(sth:execute())
    return sth
  end
  stores[#stores + 1] = {
    name = "sqlite",
    open = function(self, dir)
      local dbh = assert(DBI.Connect("SQLite3", dir .. "/kv.sqlite"))
      self.dbh = dbh
      -- DBI's SQLite driver keeps a transaction open unless autocommit is on;
      -- the journal mode can only change outside one.
      dbh:autocommit(true)
      exec(dbh, "PRAGMA journal_mode=WAL"):close()
      exec(dbh, "PRAGMA synchronous=NORMAL"):close()
      exec(dbh, "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID"):close()
      dbh:autocommit(false) -- from here: explicit dbh:commit()
      self.ins = assert(dbh:prepare("INSERT OR REPLACE INTO kv(k, v) VALUES(?, ?)"))
      self.sel = assert(dbh:prepare("SELECT v FROM kv WHERE k = ?"))
      self.delst = assert(dbh:prepare("DELETE FROM kv WHERE k = ?"))
      self.scan = assert(dbh:prepare("SELECT k, v FROM kv"))
    end,
    put = function(self, k, v)
      assert(self.ins:execute(k, v))
      assert(self.dbh:commit())
    end,
    get = function(self, k)
      self.sel:execute(k)
      local row = self.sel:fetch(false)
      self.sel:fetch(false) -- runs the statement to its end (else COMMIT fails)
      return row and row[1]
    end,
    del = function(self, k)
      assert(self.delst:execute(k))
      assert(self.dbh:commit())
    end,
    iterate = function(self)
      self.scan:execute()
      local n = 0
      for _ in self.scan:rows(false) do n = n + 1 end
      return n
    end,
    txn = function(self, keys, from, to)
      for i = from, to do assert(self.ins:execute(keys[i], VALUE)) end
      assert(self.dbh:commit())
    end,
    close = function(self)
      for _, s in ipairs({ "ins", "sel", "delst", "scan" }) do self[s]:close() end
      self.dbh:close()
    end,
  }
else
  io.stderr:write("lua_bench: lua-dbi-sqlite3 not installed: no SQLite peer " ..
                  "(apt-get install lua-dbi-sqlite3)\n")
end

-- ---- workloads -----------------------------------------------------------------

local function rate(count, fn)
  local t0 = now()
  fn()
  local dt = now() - t0
  return dt > 0 and count / dt or math.huge
end

-- One round on a fresh store: returns { workload = ops/s }.
local function round(store, keys, order)
  local dir = tmpdir()
  local r = {}
  store:open(dir)
  r.put = rate(#keys, function()
    for i = 1, #keys do store:put(keys[i], VALUE) end
  end)
  r.get = rate(#order, function()
    for i = 1, #order do
      if store:get(order[i]) == nil then error(store.name .. ": key missing") end
    end
  end)
  r.iterate = rate(#keys, function()
    local n = store:iterate()
    if n ~= #keys then error(store.name .. ": iterated " .. n .. " of " .. #keys) end
  end)
  r.delete = rate(#order, function()
    for i = 1, #order do store:del(order[i]) end
  end)
  local tkeys = make_keys(#keys, 7)
  r.txn100 = rate(#tkeys, function()
    for from = 1, #tkeys, TXN do store:txn(tkeys, from, math.min(from + TXN - 1, #tkeys)) end
  end)
  store:close()
  rmtree(dir)
  return r
end

local WORKLOADS = { "put", "get", "iterate", "delete", "txn100" }

local keys = make_keys(N, 1)
local order = shuffled(keys, 2)
local results = {}
for _, store in ipairs(stores) do
  if not ONLY or ONLY[store.name] then
    local best = {}
    for _ = 1, REPEAT do
      local r = round(store, keys, order)
      for _, w in ipairs(WORKLOADS) do best[w] = math.max(best[w] or 0, r[w]) end
      collectgarbage("collect")
    end
    results[#results + 1] = { name = store.name, r = best }
  end
end

-- ---- report ----------------------------------------------------------------------

local function fmt(x)
  if x == math.huge then return "inf" end
  if x >= 1e6 then return string.format("%.2fM", x / 1e6) end
  if x >= 1e3 then return string.format("%.1fk", x / 1e3) end
  return string.format("%.0f", x)
end

print(string.format("lua_bench: %s, n=%d, best of %d, keys 16 B, values 100 B; ops/s",
                    _VERSION, N, REPEAT))
io.write(string.format("%-10s", "store"))
for _, w in ipairs(WORKLOADS) do io.write(string.format("%12s", w)) end
io.write("\n")
local by_name = {}
for _, res in ipairs(results) do
  by_name[res.name] = res.r
  io.write(string.format("%-10s", res.name))
  for _, w in ipairs(WORKLOADS) do io.write(string.format("%12s", fmt(res.r[w]))) end
  io.write("\n")
end
local c = by_name.cellardb
if c then
  for _, res in ipairs(results) do
    if res.name ~= "cellardb" then
      io.write(string.format("%-10s", "cdb/" .. res.name))
      for _, w in ipairs(WORKLOADS) do
        io.write(string.format("%11.2fx", c[w] / res.r[w]))
      end
      io.write("\n")
    end
  end
end
