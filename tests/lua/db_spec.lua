-- db_spec.lua - every method of the database object, with its return values.

local H = require "helpers"
local cellardb = require "cellardb"

describe("cellardb module", function()
  it("has a version and the code table", function()
    assert.is_string(cellardb.version)
    assert.truthy(cellardb.version:match("^%d+%.%d+%.%d+$"))
    assert.truthy(cellardb._VERSION:find(cellardb.version, 1, true))
    assert.are.equal(-1, cellardb.codes.CELLAR_ENOTFOUND)
    assert.are.equal("CELLAR_ELOCKED", cellardb.codes[-8])
    assert.are.equal("key not found", cellardb.strerror("CELLAR_ENOTFOUND"))
    assert.are.equal("key not found", cellardb.strerror(-1))
  end)
end)

describe("database", function()
  local dir, db, clock

  before_each(function()
    dir = H.tmpdir()
    clock = cellardb.fake_clock(1700000000000)
    db = assert(cellardb.open(dir .. "/db", { clock = clock }))
  end)

  after_each(function()
    db:close()
    H.rmtree(dir)
  end)

  it("puts, gets and deletes byte strings", function()
    assert.is_true(db:put("k", "v"))
    assert.are.equal("v", db:get("k"))
    assert.is_nil(db:get("missing"))
    local bin = "\0\1\2\255 binary \0"
    db:put(bin, bin .. bin)
    assert.are.equal(bin .. bin, db:get(bin))
    assert.is_true(db:delete("k"))
    assert.is_false(db:delete("k"))
    assert.is_nil(db:get("k"))
  end)

  it("keeps the empty key and the empty value apart from absence", function()
    db:put("", "")
    assert.are.equal("", db:get(""))
    assert.is_true(db:has(""))
    assert.are.equal(1, #db)
  end)

  it("accepts numbers as single keys and values, as tostring does", function()
    db:put(1, 2)
    assert.are.equal("2", db:get("1"))
    assert.are.equal("2", db:get(1))
  end)

  it("stores a large value", function()
    local big = string.rep("0123456789abcdef", 65536) -- 1 MiB
    db:put("big", big)
    assert.are.equal(big, db:get("big"))
  end)

  it("answers has, count and #", function()
    assert.is_false(db:has("a"))
    db:put("a", "1")
    db:put("b", "2")
    assert.is_true(db:has("a"))
    assert.are.equal(2, db:count())
    assert.are.equal(2, #db)
  end)

  it("counts with incr and decr", function()
    assert.are.equal(1, db:incr("n"))
    assert.are.equal(11, db:incr("n", 10))
    assert.are.equal(10, db:decr("n"))
    assert.are.equal(0, db:decr("n", 10))
    assert.are.equal("0", db:get("n"))
    assert.are.equal(-5, db:incr("m", -5))
    assert.are.equal(math.maxinteger, db:incr("big", math.maxinteger))
  end)

  it("raises CELLAR_ENAN and CELLAR_EOVERFLOW from incr", function()
    db:put("s", "abc")
    assert.are.equal("CELLAR_ENAN", H.code_of(db.incr, db, "s"))
    db:put("max", tostring(math.maxinteger))
    assert.are.equal("CELLAR_EOVERFLOW", H.code_of(db.incr, db, "max"))
    assert.are.equal(tostring(math.maxinteger), db:get("max"))
  end)

  it("compares and swaps", function()
    assert.is_true(db:cas("k", nil, "v1"))       -- absent -> create
    assert.is_false(db:cas("k", nil, "v2"))      -- not absent any more
    assert.is_false(db:cas("k", "nope", "v2"))
    assert.is_true(db:cas("k", "v1", "v2"))
    assert.are.equal("v2", db:get("k"))
    assert.is_true(db:cas("k", "v2", nil))       -- delete
    assert.is_nil(db:get("k"))
  end)

  it("expires keys on the given clock", function()
    db:put("t", "v", 1000)
    assert.are.equal(1000, db:ttl("t"))
    clock:advance(400)
    assert.are.equal(600, db:ttl("t"))
    clock:advance(600)
    assert.is_nil(db:get("t"))
    assert.is_nil(db:ttl("t"))
    assert.is_false(db:has("t"))
  end)

  it("sets, reads and removes TTLs", function()
    db:put("k", "v")
    assert.are.equal(-1, db:ttl("k"))
    assert.is_true(db:expire("k", 50))
    assert.are.equal(50, db:ttl("k"))
    assert.is_true(db:persist("k"))
    assert.are.equal(-1, db:ttl("k"))
    clock:advance(100)
    assert.are.equal("v", db:get("k"))
    assert.is_false(db:expire("absent", 10))
    assert.is_false(db:persist("absent"))
    assert.is_nil(db:ttl("absent"))
    db:put("k", "v", 10)
    db:put("k", "w")   -- put clears the TTL
    assert.are.equal(-1, db:ttl("k"))
  end)

  it("has a settable fake clock", function()
    local c = cellardb.fake_clock(5)
    assert.are.equal(5, c:now())
    assert.are.equal(15, c:advance(10))
    assert.are.equal(100, c:set(100))
    assert.truthy(tostring(c):match("100 ms"))
    assert.has_error(function() c:advance(-1) end)
  end)

  it("gets many keys at once, in order, with holes for absent keys", function()
    db:put("a", "1")
    db:put("c", "")
    local vals = db:get_many({ "a", "b", "c" })
    assert.are.equal(3, vals.n)
    assert.are.equal("1", vals[1])
    assert.is_nil(vals[2])
    assert.are.equal("", vals[3])
    assert.are.equal(0, db:get_many({}).n)
  end)

  it("puts many pairs from a map or an array of pairs", function()
    db:put_many({ a = "1", b = "2" })
    db:put_many({ { "c", "3" }, { "d", "4" }, { "c", "5" } })
    assert.are.equal(4, #db)
    assert.are.equal("5", db:get("c"))
    db:put_many({})
    assert.are.equal(4, #db)
  end)

  it("puts nothing when one pair of a batch is bad", function()
    local huge = string.rep("k", 65537)
    assert.are.equal("CELLAR_ETOOBIG",
      H.code_of(db.put_many, db, { { "ok", "1" }, { huge, "2" } }))
    assert.is_nil(db:get("ok"))
  end)

  it("returns stats as a table", function()
    db:put("a", "1")
    local s = db:stats()
    assert.are.equal(1, s.records)
    assert.is_number(s.page_size)
    for _, f in ipairs({ "file_size", "pages", "bucket_pages", "overflow_pages",
                         "value_pages", "directory_pages", "free_pages", "global_depth",
                         "fill_factor", "cache_capacity", "cache_used", "cache_hits",
                         "cache_misses", "wal_size", "commits", "checkpoints" }) do
      assert.is_number(s[f], f)
    end
  end)

  it("syncs and checkpoints", function()
    db:put("a", "1")
    assert.is_true(db:sync())
    assert.is_true(db:checkpoint())
  end)

  it("compacts, backs up and checks, reporting progress", function()
    for i = 1, 200 do db:put("k" .. i, string.rep("v", i)) end
    for i = 1, 100 do db:delete("k" .. i) end
    local calls = 0
    assert.is_true(db:compact(function(done, total)
      assert.is_number(done); assert.is_number(total)
      calls = calls + 1
    end))
    assert.are.equal(100, #db)
    local copy = dir .. "/copy"
    assert.is_true(db:backup(copy))
    local ok, problems, count = db:check()
    assert.is_true(ok)
    assert.are.same({}, problems)
    assert.are.equal(0, count)
    local b = assert(cellardb.open(copy, { flag = "r" }))
    assert.are.equal(100, #b)
    assert.are.equal(string.rep("v", 150), b:get("k150"))
    b:close()
  end)

  it("cancels a long operation when progress returns false", function()
    db:put("a", "1")
    local r, msg, code = db:check(function() return false end)
    assert.is_nil(r)
    assert.is_string(msg)
    assert.are.equal("CELLAR_ECANCELED", code)
  end)

  it("re-raises the progress function's own error unchanged", function()
    db:put("a", "1")
    local marker = { "mine" }
    local ok, err = pcall(db.compact, db, function() error(marker) end)
    assert.is_false(ok)
    assert.are.equal(marker, err)
    assert.are.equal("1", db:get("a")) -- the db is still usable
  end)

  it("dumps and loads", function()
    db:put("a", "1")
    db:put("\0bin", "\255")
    local path = dir .. "/dump.txt"
    assert.is_true(db:dump(path))
    local other = assert(cellardb.open(dir .. "/other"))
    assert.is_true(other:load(path))
    assert.are.equal("1", other:get("a"))
    assert.are.equal("\255", other:get("\0bin"))
    other:close()
  end)

  it("prints a useful tostring", function()
    assert.truthy(tostring(db):match("^cellardb%.db %(.*/db%)$"))
    db:close()
    assert.truthy(tostring(db):match("closed"))
  end)
end)

describe("open", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  it("returns nil, message, code for a missing file without create", function()
    local db, msg, code = cellardb.open(dir .. "/none", { flag = "w" })
    assert.is_nil(db)
    assert.is_string(msg)
    assert.are.equal("CELLAR_ENOENT", code)
    db, msg, code = cellardb.open(dir .. "/none", { flag = "r" })
    assert.is_nil(db)
    assert.are.equal("CELLAR_ENOENT", code)
  end)

  it("returns nil, message, code for a file that is not a database", function()
    H.write_file(dir .. "/junk", string.rep("this is not a database\n", 500))
    local db, msg, code = cellardb.open(dir .. "/junk")
    assert.is_nil(db)
    assert.is_string(msg)
    assert.truthy(code == "CELLAR_ENOTDB" or code == "CELLAR_ECORRUPT", code)
  end)

  it("honours the dbm flags", function()
    local p = dir .. "/db"
    local db = assert(cellardb.open(p, { flag = "c" }))
    db:put("a", "1")
    db:close()
    db = assert(cellardb.open(p, { flag = "w" }))
    assert.are.equal("1", db:get("a"))
    db:close()
    db = assert(cellardb.open(p, { flag = "r" }))
    assert.are.equal("1", db:get("a"))
    assert.are.equal("CELLAR_EREADONLY", H.code_of(db.put, db, "b", "2"))
    db:close()
    db = assert(cellardb.open(p, { flag = "n" }))
    assert.are.equal(0, #db)
    db:close()
  end)

  it("accepts every option", function()
    local db = assert(cellardb.open(dir .. "/db", {
      flag = "c", mode = tonumber("600", 8), cache_size = 1 << 20,
      page_size = 8192, sync = "full", lock_timeout = 10, wal_limit = 1 << 20,
      clock = cellardb.fake_clock(0),
    }))
    db:put("a", "1")
    assert.are.equal(8192, db:stats().page_size)
    db:close()
  end)

  it("persists across close and reopen in every sync mode", function()
    for _, mode in ipairs({ "normal", "full", "off" }) do
      local p = dir .. "/db-" .. mode
      local db = assert(cellardb.open(p, { sync = mode }))
      db:put("mode", mode)
      db:close()
      db = assert(cellardb.open(p))
      assert.are.equal(mode, db:get("mode"))
      db:close()
    end
  end)
end)
