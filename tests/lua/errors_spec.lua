-- errors_spec.lua - misuse, bad input and hostile use: clear errors, no crash.

local H = require "helpers"
local cellardb = require "cellardb"

describe("error objects", function()
  local dir, db
  before_each(function()
    dir = H.tmpdir()
    db = assert(cellardb.open(dir .. "/db"))
  end)
  after_each(function()
    db:close()
    H.rmtree(dir)
  end)

  it("carry code, message, errno and where, and print well", function()
    local huge = string.rep("x", 65537)
    local err = H.raised(db.get, db, huge)
    assert.is_table(err)
    assert.is_true(cellardb.is_error(err))
    assert.are.equal("CELLAR_ETOOBIG", err.code)
    assert.is_string(err.message)
    assert.is_number(err.errno)
    assert.is_string(err.where)
    local s = tostring(err)
    assert.truthy(s:find("cellardb: ", 1, true))
    assert.truthy(s:find("(CELLAR_ETOOBIG)", 1, true))
  end)

  it("point at the caller's line", function()
    local ok, err = pcall(function() return db:get(string.rep("x", 65537)) end)
    assert.is_false(ok)
    assert.truthy(err.where:match("errors_spec%.lua:%d+: "), err.where)
  end)

  it("are told apart from other values by is_error", function()
    assert.is_false(cellardb.is_error("CELLAR_EIO"))
    assert.is_false(cellardb.is_error({ code = "CELLAR_EIO" }))
    assert.is_false(cellardb.is_error(nil))
  end)
end)

describe("bad input", function()
  local dir, db
  before_each(function()
    dir = H.tmpdir()
    db = assert(cellardb.open(dir .. "/db"))
  end)
  after_each(function()
    db:close()
    H.rmtree(dir)
  end)

  it("raises a string error for wrong argument types", function()
    for _, call in ipairs({
      function() db:get() end,
      function() db:get({}) end,
      function() db:put("k") end,
      function() db:put("k", {}) end,
      function() db:put("k", "v", "soon") end,
      function() db:put("k", "v", -1) end,
      function() db:put("k", "v", 1.5) end,
      function() db:incr("k", "x") end,
      function() db:incr("k", 0.5) end,
      function() db:decr("k", math.mininteger) end,
      function() db:expire("k") end,
      function() db:get_many("a") end,
      function() db:get_many({ "a", 1 }) end,
      function() db:put_many("a") end,
      function() db:put_many({ a = 1 }) end,
      function() db:put_many({ [1] = "a" }) end,
      function() db:put_many({ { "a" } }) end,
      function() db:put_many({ { "a", "1" }, "b" }) end,
      function() db:compact("not a function") end,
      function() db:backup() end,
      function() db:begin(42) end,
      function() db:begin("write") end,
      function() db.get(42, "k") end,
      function() db.get(io.stdout, "k") end,
    }) do
      local err = H.raised(call)
      assert.is_string(err)
    end
  end)

  it("raises CELLAR_ETOOBIG for a key over 64 KiB on every key operation", function()
    local huge = string.rep("k", 65537)
    for _, call in ipairs({
      function() return db:get(huge) end,
      function() return db:put(huge, "v") end,
      function() return db:delete(huge) end,
      function() return db:has(huge) end,
      function() return db:incr(huge) end,
      function() return db:cas(huge, nil, "v") end,
      function() return db:expire(huge, 1) end,
      function() return db:ttl(huge) end,
      function() return db:persist(huge) end,
      function() return db:get_many({ huge }) end,
      function() return db:transaction(function(tx) tx:put(huge, "v") end) end,
    }) do
      assert.are.equal("CELLAR_ETOOBIG", H.code_of(call))
    end
    local max = string.rep("k", 65536)
    db:put(max, "ok")
    assert.are.equal("ok", db:get(max))
  end)

  it("rejects bad open options with a clear message", function()
    local p = dir .. "/other"
    for opts, pattern in pairs({
      [{ flag = "x" }] = "flag",
      [{ flag = 1 }] = "flag",
      [{ sync = "sometimes" }] = "sync",
      [{ cache_size = -1 }] = "cache_size",
      [{ cache_size = "big" }] = "cache_size",
      [{ page_size = 1.5 }] = "page_size",
      [{ lock_timeout = -5 }] = "lock_timeout",
      [{ mode = 99999 }] = "mode",
      [{ clock = 5 }] = "clock",
      [{ cache = 1 }] = "unknown option 'cache'",
      [{ [1] = true }] = "unknown option",
    }) do
      local err = H.raised(cellardb.open, p, opts)
      assert.is_string(err)
      assert.truthy(err:find(pattern, 1, true), err)
    end
    assert.is_string(H.raised(cellardb.open))
    assert.is_string(H.raised(cellardb.open, p, "c"))
    assert.is_string(H.raised(cellardb.open, "a\0b"))
  end)

  it("returns CELLAR_EINVAL for a page size the core refuses", function()
    local db2, msg, code = cellardb.open(dir .. "/ps", { page_size = 1000 })
    assert.is_nil(db2)
    assert.is_string(msg)
    assert.are.equal("CELLAR_EINVAL", code)
  end)
end)

describe("closed handles", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  it("raise CELLAR_ECLOSED on every method, and close stays harmless", function()
    local db = assert(cellardb.open(dir .. "/db"))
    db:put("a", "1")
    assert.is_true(db:close())
    assert.is_true(db:close())
    for name, call in pairs({
      get = function() return db:get("a") end,
      put = function() return db:put("a", "2") end,
      delete = function() return db:delete("a") end,
      has = function() return db:has("a") end,
      incr = function() return db:incr("n") end,
      decr = function() return db:decr("n") end,
      cas = function() return db:cas("a", "1", "2") end,
      expire = function() return db:expire("a", 1) end,
      ttl = function() return db:ttl("a") end,
      persist = function() return db:persist("a") end,
      count = function() return db:count() end,
      len = function() return #db end,
      get_many = function() return db:get_many({ "a" }) end,
      put_many = function() return db:put_many({ a = "1" }) end,
      stats = function() return db:stats() end,
      sync = function() return db:sync() end,
      checkpoint = function() return db:checkpoint() end,
      compact = function() return db:compact() end,
      backup = function() return db:backup(dir .. "/b") end,
      check = function() return db:check() end,
      dump = function() return db:dump(dir .. "/d") end,
      load = function() return db:load(dir .. "/d") end,
      pairs = function() return db:pairs() end,
      __pairs = function() for _ in pairs(db) do end end,
      begin = function() return db:begin() end,
      transaction = function() return db:transaction(function() end) end,
    }) do
      local err = H.raised(call)
      assert.is_table(err, name)
      assert.are.equal("CELLAR_ECLOSED", err.code, name)
      assert.truthy(tostring(err):find("closed", 1, true), name)
    end
  end)
end)

describe("re-entrancy", function()
  local dir, db
  before_each(function()
    dir = H.tmpdir()
    db = assert(cellardb.open(dir .. "/db"))
    for i = 1, 50 do db:put("k" .. i, tostring(i)) end
  end)
  after_each(function()
    db:close()
    H.rmtree(dir)
  end)

  it("refuses the db inside its own progress callback (CELLAR_EBUSY)", function()
    local codes = {}
    local function try(fn)
      local ok, err = pcall(fn)
      codes[#codes + 1] = ok and "ok" or err.code
    end
    assert.is_true(db:compact(function()
      try(function() return db:get("k1") end)
      try(function() return db:put("x", "y") end)
      try(function() return db:close() end)
    end))
    assert.truthy(#codes >= 3)
    for _, c in ipairs(codes) do assert.are.equal("CELLAR_EBUSY", c) end
    assert.are.equal("1", db:get("k1")) -- fine again afterwards
  end)

  it("allows reads and writes from inside an iteration", function()
    local seen = 0
    for k, v in db:pairs() do
      seen = seen + 1
      assert.are.equal(v, db:get(k))
      if k:sub(1, 1) == "k" then -- bounded: what we add is not extended again
        db:put(k, v .. "!")
        db:put("new" .. k, "x")
        if seen % 7 == 0 then db:delete(k) end
      end
    end
    assert.truthy(seen >= 50)
  end)

  it("allows the db and nested transactions inside a transaction", function()
    local r = db:transaction(function(tx)
      tx:put("a", "tx")
      db:put("b", "outside")
      local inner = db:transaction(function(tx2)
        tx2:put("c", "inner")
        return db:get("b")
      end)
      return inner
    end)
    assert.are.equal("outside", r)
    assert.are.equal("tx", db:get("a"))
    assert.are.equal("inner", db:get("c"))
  end)

  it("closes the db from inside an iteration with a clean error", function()
    local err = H.raised(function()
      for _ in db:pairs() do db:close() end
    end)
    assert.are.equal("CELLAR_ECLOSED", err.code)
  end)

  it("survives closing the db inside a transaction", function()
    local err = H.raised(db.transaction, db, function(tx)
      tx:put("a", "1")
      db:close()
      return tx:get("a")
    end)
    assert.are.equal("CELLAR_ECLOSED", err.code)
  end)
end)
