-- iter_spec.lua - db:pairs() and pairs(db): streaming iteration.

local H = require "helpers"
local cellardb = require "cellardb"

describe("iteration", function()
  local dir, db
  before_each(function()
    dir = H.tmpdir()
    db = assert(cellardb.open(dir .. "/db"))
  end)
  after_each(function()
    db:close()
    H.rmtree(dir)
  end)

  it("yields every pair exactly once with db:pairs() and pairs(db)", function()
    local want = {}
    for i = 1, 500 do
      local k = "key" .. i .. "\0" .. string.char(i % 256)
      want[k] = string.rep("v", i % 37)
      db:put(k, want[k])
    end
    local got, n = H.collect(db:pairs())
    assert.are.equal(500, n)
    assert.are.same(want, got)
    local got2, n2 = H.collect(pairs(db))
    assert.are.equal(500, n2)
    assert.are.same(want, got2)
  end)

  it("yields nothing for an empty database", function()
    for _ in db:pairs() do error("unexpected pair") end
    for _ in pairs(db) do error("unexpected pair") end
  end)

  it("returns four values from db:pairs(), the last one to-be-closed", function()
    db:put("a", "1")
    local f, s, c, closing = db:pairs()
    assert.is_function(f)
    assert.are.equal(s, closing)
    assert.is_nil(c)
    assert.truthy(tostring(closing):find("open", 1, true))
    local k, v = f(s, c)
    assert.are.equal("a", k)
    assert.are.equal("1", v)
    assert.is_nil(f(s, k))          -- the end ...
    assert.truthy(tostring(closing):find("closed", 1, true)) -- ... frees it
    assert.is_nil(f(s, k))          -- and stays at the end
  end)

  it("closes the core iterator when the loop is left by break", function()
    for i = 1, 10 do db:put("k" .. i, "v") end
    local it
    for k, _, _ in (function()
      local f, s, c, closing = db:pairs()
      it = closing
      return f, s, c, closing
    end)() do
      if k then break end
    end
    assert.truthy(tostring(it):find("closed", 1, true))
  end)

  it("closes the core iterator when the loop body raises", function()
    db:put("a", "1")
    local it
    pcall(function()
      local f, s, c, closing = db:pairs()
      it = closing
      for _ in f, s, c, closing do error("boom") end
    end)
    assert.truthy(tostring(it):find("closed", 1, true))
  end)

  it("can be closed by hand", function()
    db:put("a", "1")
    local f, s = db:pairs()
    s:close()
    s:close()
    assert.is_nil(f(s, nil))
  end)

  it("streams in constant memory", function()
    local v = string.rep("x", 200)
    db:transaction(function(tx)
      for i = 1, 20000 do tx:put(string.format("%08d", i), v) end
    end)
    H.full_gc()
    local base = collectgarbage("count")
    local n, peak = 0, 0
    for _ in db:pairs() do
      n = n + 1
      if n % 1000 == 0 then
        collectgarbage("step", 0)
        peak = math.max(peak, collectgarbage("count"))
      end
    end
    H.full_gc()
    assert.are.equal(20000, n)
    -- 20000 * 200 bytes is ~4 MB; a streaming loop stays far below that.
    assert.truthy(peak - base < 1024, "grew by " .. (peak - base) .. " KiB")
  end)

  it("keeps its db alive while the loop runs", function()
    local path = dir .. "/alive"
    do
      local d = assert(cellardb.open(path))
      for i = 1, 20 do d:put("k" .. i, "v") end
      d:close()
    end
    local n = 0
    for _ in assert(cellardb.open(path)):pairs() do
      H.full_gc() -- the db object is only referenced by the iterator
      n = n + 1
    end
    assert.are.equal(20, n)
  end)

  it("sees the keys present for the whole loop under concurrent writes", function()
    for i = 1, 300 do db:put("stable" .. i, "s") end
    local stable, i = 0, 0
    for k in db:pairs() do
      i = i + 1
      if i <= 300 then db:put("added" .. i, "a") end -- may or may not be seen
      if k:match("^stable") then stable = stable + 1 end
    end
    assert.are.equal(300, stable)
  end)
end)
