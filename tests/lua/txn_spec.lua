-- txn_spec.lua - db:transaction(fn), db:begin() and the tx object.

local H = require "helpers"
local cellardb = require "cellardb"

describe("transactions", function()
  local dir, db
  before_each(function()
    dir = H.tmpdir()
    db = assert(cellardb.open(dir .. "/db"))
  end)
  after_each(function()
    db:close()
    H.rmtree(dir)
  end)

  it("commit on return and give back the function's results", function()
    local a, b, c, n = db:transaction(function(tx)
      tx:put("x", "1")
      tx:put("y", "2")
      assert.are.equal("1", tx:get("x")) -- reads see own writes
      assert.is_nil(db:get("x"))         -- invisible outside until commit
      return "r1", nil, 3
    end)
    assert.are.same({ "r1", nil, 3 }, { a, b, c })
    assert.is_nil(n)
    assert.are.equal("1", db:get("x"))
    assert.are.equal("2", db:get("y"))
  end)

  it("return exactly fn's results, nils included", function()
    assert.are.equal(0, select("#", db:transaction(function() end)))
    assert.are.equal(2, select("#", db:transaction(function() return nil, nil end)))
  end)

  it("roll back on error and re-raise the very same error value", function()
    db:put("x", "old")
    local marker = setmetatable({}, { __tostring = function() return "marker" end })
    local ok, err = pcall(db.transaction, db, function(tx)
      tx:put("x", "new")
      tx:delete("x")
      tx:put("z", "1")
      error(marker)
    end)
    assert.is_false(ok)
    assert.are.equal(marker, err)
    assert.are.equal("old", db:get("x"))
    assert.is_nil(db:get("z"))
    local ok2, err2 = pcall(db.transaction, db, function() error("plain", 0) end)
    assert.is_false(ok2)
    assert.are.equal("plain", err2)
  end)

  it("has get, has, put (with TTL) and delete on tx", function()
    db:put("a", "1")
    db:transaction(function(tx)
      assert.is_true(tx:has("a"))
      assert.is_false(tx:has("b"))
      assert.is_true(tx:delete("a"))
      assert.is_false(tx:delete("a"))
      assert.is_false(tx:has("a"))
      assert.is_nil(tx:get("a"))
      assert.is_true(tx:put("t", "v", 60000))
    end)
    assert.is_nil(db:get("a"))
    assert.truthy(db:ttl("t") > 0)
  end)

  it("raise a conflict error when a key read was changed meanwhile", function()
    db:put("k", "0")
    local err = H.raised(function()
      local r = db:transaction(function(tx)
        local v = tx:get("k")
        db:put("k", "changed by someone else")
        tx:put("k", v .. "+1")
      end)
      return r
    end)
    assert.is_table(err)
    assert.are.equal("CELLAR_ECONFLICT", err.code)
    assert.truthy(err.where:match("txn_spec%.lua:%d+: "), err.where)
    assert.are.equal("changed by someone else", db:get("k"))
  end)

  it("retry on conflict when asked, with a fresh tx each time", function()
    db:put("k", "0")
    local runs, seen = 0, {}
    local result = db:transaction(function(tx)
      runs = runs + 1
      seen[tx] = true
      local v = tonumber(tx:get("k"))
      if runs < 3 then db:put("k", tostring(v + 10)) end -- a concurrent writer
      tx:put("k", tostring(v + 1))
      return v + 1
    end, { retry = 5 })
    assert.are.equal(3, runs)
    assert.are.equal(21, result)
    assert.are.equal("21", db:get("k"))
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.are.equal(3, n)
  end)

  it("give up after the given number of retries", function()
    db:put("k", "0")
    local runs = 0
    local err = H.raised(db.transaction, db, function(tx)
      runs = runs + 1
      tx:get("k")
      db:put("k", tostring(runs))
      tx:put("k", "mine")
    end, { retry = 2 })
    assert.are.equal(3, runs)
    assert.are.equal("CELLAR_ECONFLICT", err.code)
  end)

  it("check their options", function()
    assert.is_string(H.raised(db.transaction, db))
    assert.is_string(H.raised(db.transaction, db, "fn"))
    assert.is_string(H.raised(db.transaction, db, function() end, 5))
    assert.is_string(H.raised(db.transaction, db, function() end, { retries = 1 }))
    assert.is_string(H.raised(db.transaction, db, function() end, { retry = -1 }))
    assert.is_string(H.raised(db.transaction, db, function() end, { retry = 1.5 }))
  end)

  it("can be read-only", function()
    db:put("a", "1")
    local v = db:transaction(function(tx) return tx:get("a") end, { readonly = true })
    assert.are.equal("1", v)
    local err = H.raised(db.transaction, db, function(tx) tx:put("b", "2") end,
                         { readonly = true })
    assert.are.equal("CELLAR_EREADONLY", err.code)
    local tx = db:begin("readonly")
    assert.are.equal("1", tx:get("a"))
    tx:commit()
    tx = db:begin({ readonly = true })
    assert.truthy(tostring(tx):find("readonly", 1, true))
    tx:rollback()
  end)

  it("raise CELLAR_ECLOSED when a finished tx is used later", function()
    local kept
    db:transaction(function(tx) kept = tx end)
    assert.are.equal("CELLAR_ECLOSED", H.code_of(kept.get, kept, "a"))
    assert.are.equal("CELLAR_ECLOSED", H.code_of(kept.put, kept, "a", "1"))
    assert.are.equal("CELLAR_ECLOSED", H.code_of(kept.commit, kept))
    kept:rollback() -- harmless
    assert.truthy(tostring(kept):find("finished", 1, true))
  end)

  it("work explicitly with begin, commit and rollback", function()
    local tx = db:begin()
    tx:put("a", "1")
    assert.is_true(tx:commit())
    assert.are.equal("1", db:get("a"))
    tx = db:begin()
    tx:put("a", "2")
    tx:rollback()
    tx:rollback()
    assert.are.equal("1", db:get("a"))
  end)

  it("roll back a to-be-closed tx left without commit", function()
    do
      local tx <close> = db:begin()
      tx:put("a", "uncommitted")
    end
    assert.is_nil(db:get("a"))
    pcall(function()
      local tx <close> = db:begin()
      tx:put("b", "uncommitted")
      error("boom")
    end)
    assert.is_nil(db:get("b"))
  end)

  it("roll back a forgotten tx when it is collected", function()
    local tx = db:begin()
    tx:put("a", "1")
    tx = nil -- luacheck: ignore
    H.full_gc()
    assert.is_nil(db:get("a"))
  end)

  it("make the tx dead when the db closes under it", function()
    local tx = db:begin()
    tx:put("a", "1")
    db:close()
    assert.are.equal("CELLAR_ECLOSED", H.code_of(tx.get, tx, "a"))
    assert.are.equal("CELLAR_ECLOSED", H.code_of(tx.commit, tx))
    tx:rollback()
  end)

  it("may yield inside a coroutine", function()
    local co = coroutine.wrap(function()
      return db:transaction(function(tx)
        tx:put("a", "1")
        coroutine.yield("paused")
        tx:put("b", "2")
        return "done"
      end)
    end)
    assert.are.equal("paused", co())
    assert.is_nil(db:get("a"))
    assert.are.equal("done", co())
    assert.are.equal("1", db:get("a"))
    assert.are.equal("2", db:get("b"))
  end)
end)
