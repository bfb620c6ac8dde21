-- helpers.lua - shared by the Lua tests: where things are, temp dirs.
--
-- Environment (set by ctest; tests/lua/run.sh sets them too):
--   CELLARDB_LUA_CMOD_DIR  directory holding the built cellardb.so
--   CELLARDB_SRC           the source tree (default: found from this file)
--   CELLARDB_TOOL          the `cellardb` command-line program, if built

local H = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
H.tests_dir = here
H.src = os.getenv("CELLARDB_SRC") or (here .. "/../..")

local cmod = os.getenv("CELLARDB_LUA_CMOD_DIR")
if cmod and cmod ~= "" and not package.cpath:find(cmod, 1, true) then
  package.cpath = cmod .. "/?.so;" .. package.cpath
end
if not package.path:find(here, 1, true) then
  package.path = here .. "/?.lua;" .. package.path
end

-- The directory of the cellardb.so under test, for child processes.
do
  local so = package.searchpath("cellardb", package.cpath)
  H.cmod_dir = so and so:match("^(.*)/[^/]*$") or cmod or "."
end

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
H.sh_quote = sh_quote

--- Run a shell command; returns ok, stdout.
function H.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

--- A fresh temporary directory (removed by H.rmtree).
function H.tmpdir()
  local ok, out = H.sh("mktemp -d ${TMPDIR:-/tmp}/cellardb-lua.XXXXXX")
  assert(ok, "mktemp failed: " .. out)
  return (out:gsub("%s+$", ""))
end

function H.rmtree(dir)
  if dir and dir:match("cellardb%-lua%.") then
    os.execute("rm -rf " .. sh_quote(dir))
  end
end

function H.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

function H.read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function H.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

--- The error object (or message) raised by fn(...), or fails if none.
function H.raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error, got none")
  return err
end

--- The code of a cellardb error object raised by fn(...).
function H.code_of(fn, ...)
  local err = H.raised(fn, ...)
  if type(err) == "table" then return err.code end
  return "string: " .. tostring(err)
end

--- Collect every pair of an iteration into a map (asserting no duplicates).
function H.collect(iter_fn, state, ctl, closing)
  local t, n = {}, 0
  for k, v in iter_fn, state, ctl, closing do
    assert(t[k] == nil, "key yielded twice: " .. k)
    t[k] = v
    n = n + 1
  end
  return t, n
end

--- Full garbage collection, twice (finalizers run in the first cycle).
function H.full_gc()
  collectgarbage("collect")
  collectgarbage("collect")
end

return H
