-- valgrind_smoke.lua - a short run through every data path of the Lua
-- module, for valgrind memcheck (ctest lua_memcheck). Not a busted spec: the
-- calls themselves are the checks, and any error fails the run.
--   lua5.4 tests/lua/valgrind_smoke.lua      (cellardb.so on LUA_CPATH)
-- It leaves a db, a transaction and an iterator open at the end, for the
-- finalizers that lua_close runs.

local cellardb = require "cellardb"

local function expect_code(code, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "no error, expected " .. code)
  assert(cellardb.is_error(err) and err.code == code,
    "expected " .. code .. ", got " .. tostring(err))
  return tostring(err)
end

local function expect_arg_error(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok and type(err) == "string", "expected an argument error")
end

local dir = assert(io.popen("mktemp -d ${TMPDIR:-/tmp}/cellardb-memcheck.XXXXXX")):read("l")
assert(dir and dir ~= "", "mktemp failed")

local function work(path)
  local clock = cellardb.fake_clock(1000)
  local db = assert(cellardb.open(path, { flag = "n", cache_size = 1 << 20, clock = clock }))
  -- writes: small and out-of-line (larger than a page) values, zero bytes
  for i = 1, 300 do
    db:put("k" .. i, string.rep("v", i * 37 % 6000))
  end
  db:put("zero\0key", "a\0b")
  db:put(42, 43)
  db:put_many({ { "p1", "1" }, { "p2", string.rep("2", 9000) } })
  db:put_many({ m1 = "x", m2 = "y" })
  -- reads
  assert(db:get("k1") == string.rep("v", 37) and db:get("nope") == nil)
  assert(db:has("k2") and not db:has("nope"))
  assert(db:get("zero\0key") == "a\0b")
  local vals = db:get_many({ "k1", "nope", "p2" })
  assert(vals.n == 3 and vals[2] == nil)
  assert(#db == db:count())
  for k, v in db:pairs() do assert(db:get(k) == v) end
  for k in pairs(db) do assert(#k > 0) end
  for _ in db:pairs() do break end -- the iterator closed by <close>
  -- counters, compare-and-swap, TTLs
  assert(db:incr("n") == 1 and db:decr("n", 3) == -2)
  assert(db:cas("n", "-2", "5") and not db:cas("n", "0", "6"))
  assert(db:cas("c", nil, "v") and db:cas("c", "v", nil))
  db:put("t", "x", 5000)
  assert(db:ttl("t") > 0 and db:expire("t", 1) and db:persist("t") and db:ttl("t") == -1)
  assert(not db:expire("nope", 1) and db:ttl("nope") == nil)
  db:put("gone", "x", 10)
  clock:advance(20)
  assert(db:get("gone") == nil and clock:now() > 0)
  clock:set(5000)
  -- deletes
  assert(db:delete("k5") and not db:delete("nope"))
  -- errors: raised error objects, argument errors
  db:put("word", "not a number")
  expect_code("CELLAR_ENAN", db.incr, db, "word")
  expect_code("CELLAR_ETOOBIG", db.get, db, string.rep("k", 70000))
  expect_code("CELLAR_ETOOBIG", db.put, db, string.rep("k", 70000), "v")
  expect_arg_error(db.get, db, {})
  expect_arg_error(cellardb.open, path, { no_such_option = 1 })
  assert(cellardb.strerror("CELLAR_ENOTFOUND") and cellardb.strerror(-1))
  -- transactions: commit, rollback on error, explicit, conflict, abandoned
  local r = db:transaction(function(tx)
    tx:put("a", "1")
    assert(tx:get("a") == "1" and tx:has("k2"))
    tx:put("k3", "w")
    tx:delete("k3")
    return tx:get("k1")
  end)
  assert(r == string.rep("v", 37))
  local ok = pcall(db.transaction, db, function(tx) tx:put("rolled", "back"); error("x") end)
  assert(not ok and db:get("rolled") == nil)
  ok = pcall(db.transaction, db, function(tx) tx:put("rolled", "back"); error({ "table" }) end)
  assert(not ok)
  local tx = db:begin()
  tx:put("x", "y", 1000)
  tx:commit()
  expect_code("CELLAR_ECLOSED", tx.put, tx, "after", "commit")
  tx:rollback()
  db:begin():rollback()
  local ro = db:begin("readonly")
  ro:get("a")
  expect_code("CELLAR_EREADONLY", ro.put, ro, "a", "b")
  ro:rollback()
  do
    local scoped <close> = db:begin()
    scoped:put("scoped", "rolled back by <close>")
  end
  local tx1 = db:begin()
  tx1:get("a")
  db:put("a", "2")
  tx1:put("b", "3")
  expect_code("CELLAR_ECONFLICT", tx1.commit, tx1)
  local tries = 0
  db:transaction(function(t)
    tries = tries + 1
    t:get("a")
    if tries == 1 then db:put("a", "3") end
    t:put("b", "4")
  end, { retry = 2 })
  assert(tries == 2)
  local abandoned = db:begin()
  abandoned:put("x", "z")
  abandoned = nil -- luacheck: ignore
  -- maintenance, with and without progress functions
  assert(db:stats().records > 0)
  db:sync()
  db:checkpoint()
  assert(db:check())
  assert(db:check(function() end))
  db:compact(function() end)
  local nothing, _, code = db:compact(function() return false end)
  assert(nothing == nil and code == "CELLAR_ECANCELED")
  assert(not pcall(db.check, db, function() error("from progress") end))
  expect_code("CELLAR_EBUSY", db.backup, db, path .. ".busy", function() db:get("a") end)
  db:backup(path .. ".bak")
  db:dump(path .. ".dump")
  db:load(path .. ".dump")
  -- a second handle on the same file shares the open database
  local again = assert(cellardb.open(path))
  again:get("k1")
  again:close()
  -- an iterator and a transaction still open when the db closes, then used
  local f, s = db:pairs()
  f(s)
  local open_tx = db:begin()
  open_tx:put("q", "r")
  tostring(db)
  db:close()
  db:close()
  expect_code("CELLAR_ECLOSED", db.get, db, "k1")
  expect_code("CELLAR_ECLOSED", f, s)
  expect_code("CELLAR_ECLOSED", open_tx.get, open_tx, "q")
  -- open errors return nil, message, code
  local none, msg, c = cellardb.open(path .. ".none", { flag = "w" })
  assert(none == nil and type(msg) == "string" and c == "CELLAR_ENOENT")
  none, msg, c = cellardb.open(path .. ".dump", { flag = "w" })
  assert(none == nil and c == "CELLAR_ENOTDB")
  local rodb = assert(cellardb.open(path .. ".bak", { flag = "r" }))
  rodb:get("k1")
  expect_code("CELLAR_EREADONLY", rodb.put, rodb, "a", "b")
  rodb:close()
  assert(cellardb.salvage(path .. ".bak", path .. ".salv") > 0)
  -- handles nobody closed: collected with a transaction and an iterator open
  do
    local forgotten = assert(cellardb.open(path .. ".forgotten"))
    forgotten:put("a", "b")
    forgotten:begin():put("c", "d")
    local g, st = forgotten:pairs()
    g(st)
  end
  collectgarbage()
  collectgarbage()
end

for round = 1, 2 do
  work(dir .. "/v" .. round .. ".cdb")
end

-- Left open for lua_close: a db with a transaction and an iterator.
local last = assert(cellardb.open(dir .. "/last.cdb"))
last:put("a", "b")
local last_tx = last:begin()
last_tx:put("c", "d")
local last_iter, last_state = last:pairs()
last_iter(last_state)
os.execute("rm -rf '" .. dir .. "'")
print("valgrind_smoke: done")
