-- hostile_spec.lua - every method fed wrong types and oversize keys, bad open
-- options, closed dbs, transactions and iterators, re-entry into the db from
-- inside an iteration and a transaction, and closing a db under suspended
-- coroutines, from finalizers and from to-be-closed variables. Each gives a
-- clear error (and leaves the database as it was), never a crash or a hang.

local H = require "helpers"
local cellardb = require "cellardb"

local HUGE = string.rep("k", 65537)

-- Every record, as a map (the database's whole content).
local function snapshot(db)
  local t = {}
  for k, v in db:pairs() do t[k] = v end
  return t
end

local function same(a, b)
  for k, v in pairs(a) do if b[k] ~= v then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- One call per db method that takes a key.
local function key_calls(db, key)
  return {
    get = function() return db:get(key) end,
    put = function() return db:put(key, "v") end,
    put_ttl = function() return db:put(key, "v", 5000) end,
    delete = function() return db:delete(key) end,
    has = function() return db:has(key) end,
    incr = function() return db:incr(key) end,
    decr = function() return db:decr(key, 2) end,
    cas = function() return db:cas(key, nil, "v") end,
    expire = function() return db:expire(key, 5) end,
    ttl = function() return db:ttl(key) end,
    persist = function() return db:persist(key) end,
    get_many = function() return db:get_many({ "a", key }) end,
    put_many_pairs = function() return db:put_many({ { "zz", "1" }, { key, "v" } }) end,
  }
end

local function tx_key_calls(tx, key)
  return {
    get = function() return tx:get(key) end,
    has = function() return tx:has(key) end,
    put = function() return tx:put(key, "v") end,
    delete = function() return tx:delete(key) end,
  }
end

describe("hostile input", function()
  local dir, db
  before_each(function()
    dir = H.tmpdir()
    db = assert(cellardb.open(dir .. "/db"))
    db:put_many({ a = "1", b = "2", n = "5" })
    db:put("t", "x", 3600000)
  end)
  after_each(function()
    db:close()
    H.rmtree(dir)
  end)

  it("refuses a key of a wrong type in every method, leaving the db as it was", function()
    local before = snapshot(db)
    for _, bad in ipairs({ true, false, {}, print, io.stdout, coroutine.create(print) }) do
      for name, call in pairs(key_calls(db, bad)) do
        local err = H.raised(call)
        assert.is_string(err, name)
        assert.truthy(err:find("bad argument", 1, true), name .. ": " .. err)
      end
      local tx <close> = db:begin()
      for name, call in pairs(tx_key_calls(tx, bad)) do
        assert.is_string(H.raised(call), name)
      end
      tx:put("fine", "1") -- a refused argument does not end the transaction
      tx:rollback()
    end
    assert.is_true(same(before, snapshot(db)))
  end)

  it("refuses values and other arguments of wrong types", function()
    local before = snapshot(db)
    for _, call in ipairs({
      function() db:put("a", {}) end,
      function() db:put("a", nil) end,
      function() db:put("a", true) end,
      function() db:put("a", "v", {}) end,
      function() db:put("a", "v", 0.5) end,
      function() db:put("a", "v", -1) end,
      function() db:cas("a", {}, "x") end,
      function() db:cas("a", "1", true) end,
      function() db:incr("n", "x") end,
      function() db:incr("n", 2.5) end,
      function() db:incr("n", {}) end,
      function() db:decr("n", math.mininteger) end,
      function() db:expire("a") end,
      function() db:expire("a", "soon") end,
      function() db:expire("a", -1) end,
      function() db:get_many() end,
      function() db:get_many("a") end,
      function() db:get_many({ "a", true }) end,
      function() db:put_many() end,
      function() db:put_many({ a = {} }) end,
      function() db:put_many({ [true] = "x" }) end,
      function() db:put_many({ { "a", "1" }, b = "2" }) end, -- mixed forms
      function() db:put_many({ { "a", "1" }, { "b" } }) end,
      function() db:put_many({ { "a", "1" }, "b" }) end,
      function() db:begin(true) end,
      function() db:begin("rw") end,
      function() db:transaction() end,
      function() db:transaction("f") end,
      function() db:transaction(function() end, "x") end,
      function() db:transaction(function() end, { retry = -1 }) end,
      function() db:transaction(function() end, { retry = 1.5 }) end,
      function() db:transaction(function() end, { retries = 1 }) end,
      function() db:compact(42) end,
      function() db:check({}) end,
      function() db:backup() end,
      function() db:backup({}) end,
      function() db:dump(nil) end,
      function() db:load(true) end,
      function() db:backup(dir .. "/b", "progress") end,
      function() cellardb.salvage() end,
      function() cellardb.salvage(dir .. "/db", {}) end,
      function() cellardb.strerror({}) end,
      function() cellardb.fake_clock("x") end,
      function() cellardb.fake_clock(-1) end,
      function() db.get({}, "a") end,
      function() db.get(nil, "a") end,
      function() db.close("db") end,
      function() db:begin().get(db, "a") end,
    }) do
      assert.is_string(H.raised(call))
    end
    -- the mixed put_many above stored nothing
    assert.is_true(same(before, snapshot(db)))
  end)

  it("raises CELLAR_ETOOBIG for a key over 64 KiB everywhere, and changes nothing", function()
    local before = snapshot(db)
    for name, call in pairs(key_calls(db, HUGE)) do
      local err = H.raised(call)
      assert.is_table(err, name)
      assert.are.equal("CELLAR_ETOOBIG", err.code, name)
      assert.truthy(err.message:find("65537", 1, true), name)
    end
    assert.are.equal("CELLAR_ETOOBIG", H.code_of(db.put_many, db, { [HUGE] = "v", zz = "1" }))
    local tx <close> = db:begin()
    for name, call in pairs(tx_key_calls(tx, HUGE)) do
      assert.are.equal("CELLAR_ETOOBIG", H.code_of(call), name)
    end
    tx:put("fine", "1") -- the transaction goes on
    tx:commit()
    assert.is_true(db:delete("fine"))
    assert.is_true(same(before, snapshot(db)))
    assert.is_true((db:check()))
  end)

  it("refuses bad open options with a message naming the option, creating no file", function()
    local p = dir .. "/other"
    for _, case in ipairs({
      { { flag = "x" }, "flag" }, { { flag = "" }, "flag" }, { { flag = "cw" }, "flag" },
      { { flag = "C" }, "flag" }, { { flag = true }, "flag" },
      { { sync = "FULL" }, "sync" }, { { sync = 1 }, "sync" }, { { sync = "" }, "sync" },
      { { cache_size = -1 }, "cache_size" }, { { cache_size = 1e300 }, "cache_size" },
      { { cache_size = 0 / 0 }, "cache_size" }, { { cache_size = "64M" }, "cache_size" },
      { { page_size = -4096 }, "page_size" }, { { page_size = 1 << 40 }, "page_size" },
      { { mode = 0 }, "mode" }, { { mode = -1 }, "mode" }, { { mode = 0x10000 }, "mode" },
      { { lock_timeout = -1 }, "lock_timeout" }, { { lock_timeout = 1 << 40 }, "lock_timeout" },
      { { wal_limit = -1 }, "wal_limit" }, { { wal_limit = "big" }, "wal_limit" },
      { { clock = {} }, "clock" }, { { clock = db }, "clock" },
      { { Flag = "c" }, "unknown option 'Flag'" }, { { [db] = 1 }, "unknown option" },
    }) do
      local err = H.raised(cellardb.open, p, case[1])
      assert.is_string(err)
      assert.truthy(err:find(case[2], 1, true), err)
    end
    for _, call in ipairs({
      function() cellardb.open() end,
      function() cellardb.open({}) end,
      function() cellardb.open(p, "c") end,
      function() cellardb.open(p, 5) end,
      function() cellardb.open(p .. "\0x") end,
    }) do
      assert.is_string(H.raised(call))
    end
    assert.is_false(H.exists(p))
    -- values only the core can judge: nil, message, code
    for _, opts in ipairs({ { page_size = 1000 }, { page_size = 12288 } }) do
      local d, msg, code = cellardb.open(p, opts)
      assert.is_nil(d)
      assert.is_string(msg)
      assert.are.equal("CELLAR_EINVAL", code)
    end
    local d, msg, code = cellardb.open(dir) -- a directory
    assert.is_nil(d)
    assert.is_string(msg)
    assert.are.equal("CELLAR_EINVAL", code)
    d, msg, code = cellardb.open("")
    assert.is_nil(d)
    assert.are.equal("CELLAR_EINVAL", code)
  end)

  it("takes an absurd cache size as a budget, not an allocation", function()
    local big <close> = assert(cellardb.open(dir .. "/big", { cache_size = math.maxinteger }))
    big:put("a", "1")
    assert.are.equal("1", big:get("a"))
    local tiny <close> = assert(cellardb.open(dir .. "/tiny", { cache_size = 1 }))
    for i = 1, 300 do tiny:put("k" .. i, string.rep("v", 100)) end
    assert.are.equal(300, #tiny)
  end)
end)

describe("closed transactions and iterators", function()
  local dir, db
  before_each(function()
    dir = H.tmpdir()
    db = assert(cellardb.open(dir .. "/db"))
    db:put("a", "1")
  end)
  after_each(function()
    db:close()
    H.rmtree(dir)
  end)

  local function tx_calls(tx)
    return {
      get = function() return tx:get("a") end,
      has = function() return tx:has("a") end,
      put = function() return tx:put("b", "2") end,
      delete = function() return tx:delete("a") end,
      commit = function() return tx:commit() end,
    }
  end

  for _, how in ipairs({ "committed", "rolled back", "db closed" }) do
    it("raise CELLAR_ECLOSED on every method of a transaction " .. how, function()
      local tx = db:begin()
      tx:put("b", "2")
      if how == "committed" then tx:commit()
      elseif how == "rolled back" then tx:rollback()
      else db:close() end
      for name, call in pairs(tx_calls(tx)) do
        local err = H.raised(call)
        assert.is_table(err, name)
        assert.are.equal("CELLAR_ECLOSED", err.code, name)
      end
      tx:rollback() -- harmless, always
      assert.truthy(tostring(tx):find("finished", 1, true))
      db:close()
      db = assert(cellardb.open(dir .. "/db"))
      assert.are.equal(how == "committed" and "2" or nil, db:get("b"))
    end)
  end

  it("end exhausted and closed iterators quietly, and raise on dead ones", function()
    db:put("b", "2")
    local f, it = db:pairs()
    assert.truthy(f(it))
    assert.truthy(f(it))
    for _ = 1, 3 do assert.is_nil(f(it)) end -- exhausted: stays at the end
    it:close()
    it:close()
    local f2, it2 = db:pairs()
    it2:close()
    assert.is_nil(f2(it2))
    assert.truthy(tostring(it2):find("closed", 1, true))
    local f3, it3 = db:pairs()
    f3(it3)
    db:close()
    for _ = 1, 2 do assert.are.equal("CELLAR_ECLOSED", H.code_of(f3, it3)) end
    it3:close()
    assert.is_nil(f3(it3))
    assert.is_string(H.raised(f3, db)) -- not an iterator
  end)
end)

describe("re-entry", function()
  local dir, db
  before_each(function()
    dir = H.tmpdir()
    db = assert(cellardb.open(dir .. "/db"))
    for i = 1, 200 do db:put("k" .. i, string.rep("v", i % 40)) end
  end)
  after_each(function()
    db:close()
    H.rmtree(dir)
  end)

  it("allows deletes, nested loops and transactions inside an iteration", function()
    local seen = {}
    for k in db:pairs() do
      if k:sub(1, 1) == "k" then
        assert.is_nil(seen[k], "a key present until it is yielded comes once")
        seen[k] = true
        assert.is_true(db:delete(k))
        for _ in db:pairs() do break end
        db:transaction(function(tx) tx:put("tx-" .. k, "y") end)
        local n = 0
        for _ in db:pairs() do n = n + 1 end
        assert.truthy(n > 0)
      end
    end
    local count = 0
    for _ in pairs(seen) do count = count + 1 end
    assert.are.equal(200, count)
    assert.are.equal(200, #db)
    assert.is_nil(db:get("k1"))
  end)

  it("runs backup and check inside an iteration without disturbing it", function()
    local n = 0
    for _ in db:pairs() do
      n = n + 1
      if n == 2 then
        assert.is_true(db:backup(dir .. "/copy"))
        assert.is_true((db:check()))
        assert.is_true(db:checkpoint())
      end
    end
    assert.are.equal(200, n)
  end)

  it("ends an iteration with CELLAR_EBUSY after a compact in its body", function()
    local n = 0
    local err = H.raised(function()
      for _ in db:pairs() do
        n = n + 1
        if n == 3 then db:compact() end
      end
    end)
    assert.are.equal("CELLAR_EBUSY", err.code)
    assert.truthy(err.message:find("compacted", 1, true))
    local again = 0
    for _ in db:pairs() do again = again + 1 end
    assert.are.equal(200, again)
  end)

  it("keeps a transaction's writes across a compact inside it", function()
    local r = db:transaction(function(tx)
      tx:put("before", "1")
      db:compact()
      assert.are.equal("1", tx:get("before")) -- its own write, after the compact
      tx:put("after", "2")
      return "done"
    end)
    assert.are.equal("done", r)
    assert.are.equal("1", db:get("before"))
    assert.are.equal("2", db:get("after"))
    assert.is_true((db:check()))
    db:close()
    db = assert(cellardb.open(dir .. "/db"))
    assert.are.equal("1", db:get("before"))
  end)

  it("returns fn's results when fn commits or rolls back tx itself", function()
    local a, b = db:transaction(function(tx)
      tx:put("c", "1")
      tx:commit()
      return "x", "y"
    end)
    assert.are.equal("x", a)
    assert.are.equal("y", b)
    assert.are.equal("1", db:get("c"))
    assert.are.equal("r", db:transaction(function(tx)
      tx:put("r", "1")
      tx:rollback()
      return "r"
    end))
    assert.is_nil(db:get("r"))
    -- a finished tx raises inside fn, and that error rolls nothing else back
    local err = H.raised(db.transaction, db, function(tx)
      tx:commit()
      tx:put("late", "1")
    end)
    assert.are.equal("CELLAR_ECLOSED", err.code)
    assert.is_nil(db:get("late"))
  end)

  it("rolls back and re-raises whatever fn raises", function()
    for _, value in ipairs({ "text", { mine = true }, 42, false }) do
      local ok, err = pcall(db.transaction, db, function(tx)
        tx:put("e", "1")
        error(value, 0)
      end)
      assert.is_false(ok)
      assert.are.equal(value, err) -- the very same value
      assert.is_nil(db:get("e"))
    end
  end)

  it("detects a conflict with a write the db made inside the transaction", function()
    local err = H.raised(db.transaction, db, function(tx)
      tx:put("k1", tx:get("k1") .. "!")
      db:put("k1", "changed")
    end)
    assert.are.equal("CELLAR_ECONFLICT", err.code)
    assert.are.equal("changed", db:get("k1"))
    local calls = 0
    db:transaction(function(tx)
      calls = calls + 1
      tx:put("k1", tx:get("k1") .. "!")
      if calls == 1 then db:put("k1", "again") end
    end, { retry = 2 })
    assert.are.equal("again!", db:get("k1"))
    assert.are.equal(2, calls)
  end)

  it("lets fn yield, and the db is usable after every outcome", function()
    local co = coroutine.wrap(function()
      return db:transaction(function(tx)
        tx:put("y", "1")
        coroutine.yield("paused")
        return "resumed"
      end)
    end)
    assert.are.equal("paused", co())
    assert.are.equal("resumed", co())
    assert.are.equal("1", db:get("y"))
  end)
end)

describe("closing under live users", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  local function fill(path)
    local db = assert(cellardb.open(path))
    for i = 1, 100 do db:put("k" .. i, "v") end
    return db
  end

  it("closes under an iteration suspended in a coroutine", function()
    local db = fill(dir .. "/db")
    local co = coroutine.create(function()
      for k in db:pairs() do coroutine.yield(k) end
      return "end"
    end)
    assert.is_true((coroutine.resume(co)))
    db:close()
    local ok, err = coroutine.resume(co)
    assert.is_false(ok)
    assert.are.equal("CELLAR_ECLOSED", err.code)
    assert.are.equal("dead", coroutine.status(co))
    local again <close> = assert(cellardb.open(dir .. "/db", { flag = "w" }))
    assert.are.equal(100, #again)
  end)

  it("closes under a transaction suspended in a coroutine; its writes are dropped", function()
    local db = fill(dir .. "/db")
    local co = coroutine.create(function()
      return db:transaction(function(tx)
        tx:put("z", "1")
        coroutine.yield()
        tx:put("z2", "2")
      end)
    end)
    coroutine.resume(co)
    db:close()
    local ok, err = coroutine.resume(co)
    assert.is_false(ok)
    assert.are.equal("CELLAR_ECLOSED", err.code)
    local again <close> = assert(cellardb.open(dir .. "/db", { flag = "w" }))
    assert.is_nil(again:get("z"))
    assert.are.equal(100, #again)
  end)

  it("closes a db and its iterator held as to-be-closed variables of a coroutine", function()
    local db = fill(dir .. "/db")
    local co = coroutine.create(function()
      local d <close> = db
      local tx <close> = d:begin()
      tx:put("never", "1")
      for k in d:pairs() do coroutine.yield(k) end
    end)
    assert.is_true((coroutine.resume(co)))
    assert.is_true(coroutine.close(co)) -- runs the pending __close of iter, tx, db
    assert.truthy(tostring(db):find("closed", 1, true))
    assert.are.equal("CELLAR_ECLOSED", H.code_of(db.get, db, "k1"))
    local again <close> = assert(cellardb.open(dir .. "/db", { flag = "w" }))
    assert.is_nil(again:get("never"))
    assert.are.equal(100, #again)
  end)

  it("closes from a finalizer, also during an iteration step", function()
    local db = fill(dir .. "/db")
    do
      local victim = db
      setmetatable({}, { __gc = function() victim:close() end })
    end
    local n = 0
    local err = H.raised(function()
      for _ in db:pairs() do
        n = n + 1
        for _ = 1, 200 do local _ = {} end -- garbage: the finalizer runs meanwhile
        collectgarbage("step", 100)
      end
    end)
    assert.are.equal("CELLAR_ECLOSED", err.code)
    assert.truthy(n >= 1)
    local again <close> = assert(cellardb.open(dir .. "/db", { flag = "w" }))
    assert.are.equal(100, #again)
  end)

  -- Finalizers run at any allocation, so also while a call turns a value
  -- into a Lua string: a finalizer that reads, finishes or closes the same
  -- db, transaction or iterator then must not free that value under it
  -- (this used to be a double free, or values read from freed memory).
  it("keeps a value being returned safe from finalizers that use the same db", function()
    local db = assert(cellardb.open(dir .. "/db"))
    local big = string.rep("x", 300000)
    db:put("big", big)
    local tx = db:begin()
    collectgarbage("incremental", 1, 1000) -- collect all the time
    local ok, wrong = pcall(function()
      local bad = 0
      for round = 1, 60 do
        setmetatable({}, { __gc = function()
          db:get("big")
          pcall(tx.get, tx, "big")
          if round % 20 == 0 then tx:rollback() end
        end })
        if db:get("big") ~= big then bad = bad + 1 end
        local okt, v = pcall(tx.get, tx, "big")
        if okt and v ~= big then bad = bad + 1 end
        if tostring(tx):find("finished", 1, true) then tx = db:begin() end
      end
      setmetatable({}, { __gc = function() db:close() end })
      for _ = 1, 20 do
        local okc, v = pcall(db.get, db, "big")
        if okc and v ~= big then bad = bad + 1 end
      end
      return bad
    end)
    collectgarbage("incremental", 200, 100)
    collectgarbage("restart")
    assert.is_true(ok, tostring(wrong))
    assert.are.equal(0, wrong)
    db:close()
  end)

  it("keeps an iteration step safe from finalizers that close or step its iterator", function()
    local db = assert(cellardb.open(dir .. "/db"))
    for i = 1, 60 do db:put(string.rep("k", 40) .. i, string.rep("v", 200000 + i)) end
    local f, it = db:pairs()
    local closed = false
    collectgarbage("incremental", 1, 1000)
    local bad, steps = 0, 0
    for _ = 1, 60 do
      setmetatable({}, { __gc = function()
        closed = true
        pcall(f, it) -- refused: its own step is running
        it:close()   -- done when the step ends
      end })
      local ok, k, v = pcall(f, it)
      if ok and k then
        steps = steps + 1
        if v ~= string.rep("v", 200000 + tonumber(k:sub(41))) then bad = bad + 1 end
      end
      if closed then
        f, it = db:pairs()
        closed = false
      end
    end
    collectgarbage("incremental", 200, 100)
    assert.are.equal(0, bad)
    assert.truthy(steps > 0)
    db:close()
  end)

  it("survives finalizers that use a db already finalized at state close", function()
    local script = dir .. "/child.lua"
    H.write_file(script, "package.cpath = " .. string.format("%q", H.cmod_dir .. "/?.so;") ..
      " .. package.cpath\n" .. [[
      local cellardb = require "cellardb"
      local db = assert(cellardb.open(..., { flag = "c" }))
      db:put("committed", "yes")
      local tx = db:begin(); tx:put("uncommitted", "x")
      local f, s = db:pairs(); f(s)
      _G.keep = { tx, f, s }
      _G.user = setmetatable({}, { __gc = function() pcall(db.put, db, "from-gc", "1") end })
      _G.closer = setmetatable({}, { __gc = function() db:close() end })
      print("ok")
    ]])
    local ok, out = H.sh("lua5.4 " .. H.sh_quote(script) .. " " .. H.sh_quote(dir .. "/db"))
    assert.is_true(ok, out)
    assert.truthy(out:find("ok", 1, true), out)
    local again <close> = assert(cellardb.open(dir .. "/db", { flag = "w" }))
    assert.are.equal("yes", again:get("committed"))
    assert.is_nil(again:get("uncommitted"))
    assert.is_true((again:check()))
  end)

  -- A finalizer may also run while a call converts its arguments (a number
  -- key becomes a string), after the call checked its db or transaction and
  -- before the core call. One that closes the db or ends the transaction
  -- there must give CELLAR_ECLOSED: the call used to pass the core the NULL
  -- handle the close left, which the core calls CELLAR_EINVAL.
  local LONG = (os.getenv("CELLAR_LONG_TESTS") or "0"):match("^0?$") == nil

  -- Every call that converts or allocates before its core call; `ends`:
  -- what the finalizer ends (the db, or the transaction tx).
  local racing_calls = {
    { "get", "db", function(d, _, k) return d:get(k) end },
    { "put", "db", function(d, _, k) return d:put(k, k) end },
    { "put_ttl", "db", function(d, _, k) return d:put(k, "v", 5000) end },
    { "delete", "db", function(d, _, k) return d:delete(k) end },
    { "has", "db", function(d, _, k) return d:has(k) end },
    { "incr", "db", function(d, _, k) return d:incr(k) end },
    { "decr", "db", function(d, _, k) return d:decr(k, 2) end },
    { "cas", "db", function(d, _, k) return d:cas(k, nil, k) end },
    { "expire", "db", function(d, _, k) return d:expire(k, 5000) end },
    { "ttl", "db", function(d, _, k) return d:ttl(k) end },
    { "persist", "db", function(d, _, k) return d:persist(k) end },
    { "get_many", "db", function(d) return d:get_many({ "a", "b" }) end },
    { "put_many", "db", function(d) return d:put_many({ { "zz", "1" } }) end },
    { "begin", "db", function(d) return d:begin() end },
    { "pairs", "db", function(d) return d:pairs() end },
    { "check", "db", function(d) return d:check() end },
    { "tx:get", "tx", function(_, tx, k) return tx:get(k) end },
    { "tx:has", "tx", function(_, tx, k) return tx:has(k) end },
    { "tx:put", "tx", function(_, tx, k) return tx:put(k, k) end },
    { "tx:delete", "tx", function(_, tx, k) return tx:delete(k) end },
    { "tx:put, db closed", "db", function(_, tx, k) return tx:put(k, k) end },
  }

  it("gives ECLOSED when a finalizer ends the db or tx during a call's conversions", function()
    local path = dir .. "/race"
    local anchor <close> = assert(cellardb.open(path)) -- keeps the file open: cheap handles
    anchor:put("a", "1")
    local rounds = LONG and 200 or 20
    local bad, ended_calls = {}, 0
    collectgarbage("restart")
    collectgarbage("incremental", 1, 1000) -- a collection step at (almost) every allocation
    local ok, err = pcall(function()
      for round = 1, rounds do
        for _, c in ipairs(racing_calls) do
          local name, ends, call = c[1], c[2], c[3]
          local d = assert(cellardb.open(path))
          local tx = d:begin()
          local ended = false
          setmetatable({}, { __gc = function()
            ended = true
            if ends == "tx" then tx:rollback() else d:close() end
          end })
          for i = 1, 100 do
            local okc, e = pcall(call, d, tx, 1e6 + round + i / 8) -- a float: tostring allocates
            if not okc then
              local code = type(e) == "table" and e.code or tostring(e)
              if code ~= "CELLAR_ECLOSED" and code ~= "CELLAR_EBUSY" then
                bad[#bad + 1] = string.format("round %d, %s: %s", round, name, tostring(e))
              end
              break
            end
          end
          if ended then ended_calls = ended_calls + 1 end
          tx:rollback()
          d:close()
        end
      end
    end)
    collectgarbage("incremental", 200, 100)
    collectgarbage("restart")
    assert.is_true(ok, tostring(err))
    assert.are.same({}, bad)
    assert.truthy(ended_calls > 0, "no finalizer ran during the calls")
    assert.are.equal("1", anchor:get("a"))
    assert.is_true((anchor:check()))
  end)
end)
