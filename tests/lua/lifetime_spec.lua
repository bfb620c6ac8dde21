-- lifetime_spec.lua - <close>, __gc, double close, handles shared in a
-- process, locks against other processes.

local H = require "helpers"
local cellardb = require "cellardb"

local LUA = os.getenv("CELLARDB_LUA") or "lua5.4"

-- Run a Lua snippet in a child process that loads the same module; returns
-- its trimmed output. The snippet sees PATH (the database file) as `...`.
local function child(code, path)
  local prelude = "package.cpath = " .. string.format("%q", H.cmod_dir .. "/?.so;") ..
                  " .. package.cpath; local cellardb = require 'cellardb'; "
  local script = os.tmpname()
  H.write_file(script, prelude .. code)
  local _, out = H.sh(LUA .. " " .. H.sh_quote(script) .. " " .. H.sh_quote(path))
  os.remove(script)
  return (out:gsub("%s+$", ""))
end

describe("lifetime", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  it("closes a to-be-closed db at the end of its scope", function()
    local outer
    do
      local db <close> = assert(cellardb.open(dir .. "/db"))
      db:put("a", "1")
      outer = db
    end
    assert.truthy(tostring(outer):find("closed", 1, true))
    assert.are.equal("CELLAR_ECLOSED", H.code_of(outer.get, outer, "a"))
    local db = assert(cellardb.open(dir .. "/db"))
    assert.are.equal("1", db:get("a"))
    db:close()
  end)

  it("closes a to-be-closed db when its scope raises", function()
    local outer
    local ok = pcall(function()
      local db <close> = assert(cellardb.open(dir .. "/db"))
      outer = db
      db:put("a", "1")
      error("boom")
    end)
    assert.is_false(ok)
    assert.truthy(tostring(outer):find("closed", 1, true))
  end)

  it("closes a forgotten db when it is collected, releasing the lock", function()
    local path = dir .. "/db"
    local db = assert(cellardb.open(path))
    db:put("a", "1")
    assert.are.equal("CELLAR_ELOCKED",
      child("local db, m, c = cellardb.open(..., {flag='w'}) print(c or 'OK')", path))
    db = nil -- luacheck: ignore
    H.full_gc()
    assert.are.equal("OK 1",
      child("local db = assert(cellardb.open(..., {flag='w'})) print('OK', db:get('a'))", path)
        :gsub("\t", " "))
  end)

  it("returns nil, message, CELLAR_ELOCKED while another process writes", function()
    local path = dir .. "/db"
    local db = assert(cellardb.open(path))
    local out = child([[
      local db, msg, code = cellardb.open(..., { flag = "w" })
      print(tostring(db), code, type(msg))
    ]], path)
    assert.are.equal("nil\tCELLAR_ELOCKED\tstring", out)
    db:close()
  end)

  it("lets two handles in one process share a file", function()
    local path = dir .. "/db"
    local a = assert(cellardb.open(path))
    local b = assert(cellardb.open(path))
    a:put("k", "from a")
    assert.are.equal("from a", b:get("k"))
    a:close()
    assert.are.equal("from a", b:get("k")) -- b still open
    b:put("k2", "from b")
    b:close()
    local c = assert(cellardb.open(path, { flag = "r" }))
    assert.are.equal("from b", c:get("k2"))
    c:close()
  end)

  it("collects many forgotten handles, iterators and transactions", function()
    local path = dir .. "/db"
    for i = 1, 200 do
      local db = assert(cellardb.open(path))
      db:put("k" .. i, "v")
      local f, s = db:pairs()
      f(s)
      local tx = db:begin()
      tx:put("t" .. i, "x")
      if i % 2 == 0 then db:close() end
    end
    H.full_gc()
    local db = assert(cellardb.open(path))
    assert.are.equal(200, #db) -- every put, no transaction write
    db:close()
  end)

  it("keeps a fake clock alive for the shared database after its handle is gone", function()
    local path = dir .. "/db"
    local a = assert(cellardb.open(path, { clock = cellardb.fake_clock(1000) }))
    local b = assert(cellardb.open(path)) -- shares a's open database and clock
    a:close()
    a = nil -- luacheck: ignore
    H.full_gc()
    b:put("k", "v", 500)
    assert.are.equal(500, b:ttl("k"))
    b:close()
  end)

  it("keeps iterators and transactions safe after their db is collected", function()
    local path = dir .. "/db"
    local db = assert(cellardb.open(path))
    db:put("a", "1")
    local tx = db:begin()
    local f, s = db:pairs()
    db = nil -- luacheck: ignore
    H.full_gc() -- tx and iterator keep the db alive
    assert.are.equal("1", tx:get("a"))
    local k = f(s)
    assert.are.equal("a", k)
    tx:rollback()
  end)
end)
