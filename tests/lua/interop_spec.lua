-- interop_spec.lua - one file for every language: read what C and Python
-- wrote, and check that the rockspec builds from the right sources.

local H = require "helpers"
local cellardb = require "cellardb"

describe("interop", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  it("reads a file written by the C command-line tool", function()
    local tool = os.getenv("CELLARDB_TOOL")
    if not tool or not H.exists(tool) then
      pending("the cellardb tool is not built (CELLARDB_TOOL unset)")
      return
    end
    local path = dir .. "/from_c"
    local q = H.sh_quote
    for _, cmd in ipairs({
      q(tool) .. " -q " .. q(path) .. " put hello world",
      "printf 'v\\000\\377' | " .. q(tool) .. " -q " .. q(path) .. " put bin -",
      q(tool) .. " -q " .. q(path) .. " incr n 41",
    }) do
      local ok, out = H.sh(cmd)
      assert(ok, cmd .. ": " .. out)
    end
    local db = assert(cellardb.open(path, { flag = "r" }))
    assert.are.equal("world", db:get("hello"))
    assert.are.equal("v\0\255", db:get("bin"))
    assert.are.equal("41", db:get("n"))
    assert.are.equal(3, #db)
    db:close()
  end)

  it("reads a file written by the Python module", function()
    -- Run Python in the temp dir: the current one may hold the Lua module's
    -- own cellardb.so, which Python would try to import first.
    local py = "cd " .. H.sh_quote(dir) .. " && "
    local pypath = os.getenv("CELLARDB_PYTHONPATH")
    if pypath and pypath ~= "" then py = py .. "PYTHONPATH=" .. H.sh_quote(pypath) .. " " end
    py = py .. (os.getenv("CELLARDB_PYTHON") or "python3")
    local ok = H.sh(py .. " -c 'import cellardb' ")
    if not ok then
      pending("the Python module is not importable")
      return
    end
    local path = dir .. "/from_py"
    local script = [[
import sys, cellardb
db = cellardb.open(sys.argv[1], "c")
db[b"bin\x00key"] = b"\xff\x00value"
db[b"empty"] = b""
db["text"] = "caf\u00e9"
db.close()
]]
    H.write_file(dir .. "/w.py", script)
    local okw, out = H.sh(py .. " " .. H.sh_quote(dir .. "/w.py") .. " " .. H.sh_quote(path))
    assert(okw, out)
    local db = assert(cellardb.open(path, { flag = "r" }))
    assert.are.equal("\255\0value", db:get("bin\0key"))
    assert.are.equal("", db:get("empty"))
    assert.are.equal("caf\195\169", db:get("text"))
    assert.are.equal(3, #db)
    db:close()
  end)

  it("writes a file that a second process reads back", function()
    local path = dir .. "/from_lua"
    local db = assert(cellardb.open(path))
    db:put("k\0", "v\255")
    db:close()
    local code = string.format([[
      package.cpath = %q .. package.cpath
      local db = assert(require("cellardb").open(%q, { flag = "r" }))
      io.write(db:get("k\0") == "v\255" and "same" or "different")
    ]], H.cmod_dir .. "/?.so;", path)
    local ok, out = H.sh((os.getenv("CELLARDB_LUA") or "lua5.4") .. " -e " .. H.sh_quote(code))
    assert(ok, out)
    assert.are.equal("same", out)
  end)
end)

describe("packaging", function()
  it("lists every C source of the core and the module in the rockspec", function()
    local ok, out = H.sh("ls " .. H.sh_quote(H.src) .. "/packaging/cellardb-*.rockspec")
    assert(ok, "no rockspec in packaging/: " .. out)
    local spec = H.read_file((out:match("[^\n]+")))
    local listed = {}
    for src in spec:gmatch('"([%w_/%.%-]+%.c)"') do listed[src] = true end
    local okls, files = H.sh("cd " .. H.sh_quote(H.src) .. " && ls core/src/*/*.c bindings/lua/*.c")
    assert(okls, files)
    local missing = {}
    for f in files:gmatch("[^\n]+") do
      if not listed[f] then missing[#missing + 1] = f end
      listed[f] = nil
    end
    local extra = {}
    for f in pairs(listed) do extra[#extra + 1] = f end
    assert(#missing == 0, "rockspec misses: " .. table.concat(missing, " "))
    assert(#extra == 0, "rockspec lists files that do not exist: " .. table.concat(extra, " "))
  end)
end)
