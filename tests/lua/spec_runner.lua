-- spec_runner.lua - runs the conformance suite (tests/spec/cases/*.json)
-- against the Lua module. The format is defined in tests/spec/README.md.
--
-- As a program:  lua5.4 spec_runner.lua [-v] [-k NAME] CASES_DIR_OR_FILE...
--   prints one line per failed case, then "N passed, N failed";
--   exits non-zero if a case failed.
-- As a module (conformance_spec.lua runs each case as a busted test):
--   local runner = require "spec_runner"
--   for _, case in ipairs(runner.load(dir)) do local ok, why = runner.run_case(case) end

local CHUNK_ARG = ... -- "spec_runner" when loaded by require
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path

local H = require "helpers"
local json = require "json"
local cellardb = require "cellardb"

local null = json.null
local R = {}

-- ---- values ---------------------------------------------------------------

--- A BYTES of the suite as a Lua string (null stays null).
local function bytes(v)
  if type(v) == "string" or v == null then return v end
  if type(v) == "table" and v.hex then
    assert(#v.hex % 2 == 0, "odd hex string")
    return (v.hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
  end
  if type(v) == "table" and v["repeat"] then
    return string.rep(v["repeat"], v.count)
  end
  error("not a BYTES value: " .. R.repr(v))
end

--- An expected value with every BYTES turned into a string.
local function decode_expected(v)
  if type(v) ~= "table" or v == null then return v end
  if v.hex or v["repeat"] then return bytes(v) end
  local out = { n = v.n }
  for i = 1, (v.n or #v) do out[i] = decode_expected(v[i]) end
  return out
end

function R.repr(v)
  if v == nil then return "nil" end
  if v == null then return "null" end
  if type(v) == "string" then
    if #v > 40 then return string.format("<%d bytes %q...>", #v, v:sub(1, 16)) end
    return string.format("%q", v)
  end
  if type(v) ~= "table" then return tostring(v) end
  if v.code then return "error " .. tostring(v.code) end
  local parts = {}
  for i = 1, (v.n or #v) do parts[#parts + 1] = R.repr(v[i]) end
  return "[" .. table.concat(parts, ", ") .. "]"
end

local function pair_key(p)
  return #p[1] .. ":" .. p[1] .. #p[2] .. ":" .. p[2]
end

local function sorted_pairs(list)
  local copy = {}
  for i = 1, (list.n or #list) do copy[i] = list[i] end
  table.sort(copy, function(a, b) return pair_key(a) < pair_key(b) end)
  copy.n = #copy
  return copy
end

local function equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" or a == null or b == null then
    return false
  end
  local na, nb = a.n or #a, b.n or #b
  if na ~= nb then return false end
  for i = 1, na do
    if not equal(a[i], b[i]) then return false end
  end
  return true
end

-- ---- ops ------------------------------------------------------------------
-- Each op returns a result value (null for none) or raises; a `false` or nil
-- that the Lua API uses for an expected outcome is turned into the code the
-- suite names, through `soft`.

local function soft(code)
  error({ code = code, message = "(soft result)" }, 0)
end

local ops = {}

function ops.get(c, k) local v = c.db:get(bytes(k)); if v == nil then soft("CELLAR_ENOTFOUND") end return v end
function ops.put(c, k, v) c.db:put(bytes(k), bytes(v)); return null end
function ops.put_ttl(c, k, v, ttl) c.db:put(bytes(k), bytes(v), ttl); return null end
function ops.delete(c, k) if not c.db:delete(bytes(k)) then soft("CELLAR_ENOTFOUND") end return null end
function ops.exists(c, k) return c.db:has(bytes(k)) end
function ops.count(c)
  local n = c.db:count()
  assert(#c.db == n, "#db differs from db:count()")
  return n
end
function ops.incr(c, k, d) return c.db:incr(bytes(k), d) end
function ops.decr(c, k, d) return c.db:decr(bytes(k), d) end
function ops.cas(c, k, e, v)
  e, v = bytes(e), bytes(v)
  if e == null then e = nil end
  if v == null then v = nil end
  if not c.db:cas(bytes(k), e, v) then soft("CELLAR_EMISMATCH") end
  return null
end
function ops.expire(c, k, ms) if not c.db:expire(bytes(k), ms) then soft("CELLAR_ENOTFOUND") end return null end
function ops.ttl(c, k) local t = c.db:ttl(bytes(k)); if t == nil then soft("CELLAR_ENOTFOUND") end return t end
function ops.persist(c, k) if not c.db:persist(bytes(k)) then soft("CELLAR_ENOTFOUND") end return null end
function ops.get_many(c, keys)
  local ks = {}
  for i = 1, keys.n do ks[i] = bytes(keys[i]) end
  local vals = c.db:get_many(ks)
  assert(vals.n == keys.n, "get_many: n is " .. tostring(vals.n))
  local out = { n = keys.n }
  for i = 1, keys.n do
    if vals[i] == nil then out[i] = null else out[i] = vals[i] end
  end
  return out
end
function ops.put_many(c, list)
  local ps = {}
  for i = 1, list.n do ps[i] = { bytes(list[i][1]), bytes(list[i][2]) } end
  c.db:put_many(ps)
  return null
end
function ops.iterate(c)
  local out = {}
  for k, v in c.db:pairs() do out[#out + 1] = { k, v } end
  return sorted_pairs(out)
end
function ops.advance_clock(c, ms) c.clock:advance(ms); return null end
function ops.close(c) c.db:close(); return null end
function ops.reopen(c, over)
  if c.db then c.db:close() end
  local opts = {}
  for k, v in pairs(c.options) do opts[k] = v end
  if over and over ~= null then
    for k, v in pairs(over) do opts[k] = v end
  end
  local db, msg, code = R.open(c, opts)
  c.db = db or c.db -- a failed reopen leaves the closed handle (ECLOSED)
  if not db then error({ code = code, message = msg }, 0) end
  return null
end

local function tx(c, name)
  local t = c.txns[name]
  if not t then error("case uses unknown transaction " .. tostring(name), 0) end
  return t
end

function ops.txn_begin(c, name, mode)
  if c.txns[name] then error("transaction " .. name .. " already begun", 0) end
  c.txns[name] = c.db:begin(mode ~= nil and mode ~= null and mode or nil)
  return null
end
function ops.txn_get(c, n, k) local v = tx(c, n):get(bytes(k)); if v == nil then soft("CELLAR_ENOTFOUND") end return v end
function ops.txn_exists(c, n, k) return tx(c, n):has(bytes(k)) end
function ops.txn_put(c, n, k, v) tx(c, n):put(bytes(k), bytes(v)); return null end
function ops.txn_put_ttl(c, n, k, v, ttl) tx(c, n):put(bytes(k), bytes(v), ttl); return null end
function ops.txn_delete(c, n, k) if not tx(c, n):delete(bytes(k)) then soft("CELLAR_ENOTFOUND") end return null end
function ops.txn_commit(c, n)
  local t = tx(c, n)
  c.txns[n] = nil -- gone even when commit fails, as in the C API
  t:commit()
  return null
end
function ops.txn_abort(c, n)
  local t = tx(c, n)
  c.txns[n] = nil
  t:rollback()
  return null
end

R.ops = ops

-- ---- cases ----------------------------------------------------------------

--- Open DIR/db with the suite's options (a table with suite field names).
function R.open(c, o)
  local opts = { clock = c.clock }
  if o.page_size then opts.page_size = o.page_size end
  if o.cache_size then opts.cache_size = o.cache_size end
  if o.sync then opts.sync = o.sync end
  if o.readonly then opts.flag = "r" end
  return cellardb.open(c.path, opts)
end

-- Run one step: returns { ok = value } or { err = code }.
local function call(c, step)
  local fn = ops[step.op]
  if not fn then return { err = "unknown op " .. tostring(step.op) } end
  local args = step.args or { n = 0 }
  local ok, res = pcall(fn, c, table.unpack(args, 1, args.n or #args))
  if ok then return { ok = res } end
  if type(res) == "table" and res.code then return { err = res.code } end
  return { err = "Lua error: " .. tostring(res) }
end

local function check(step, got)
  local e = step.expect
  if e == nil then
    if got.err then return false, "unexpected error " .. got.err end
    return true
  end
  if e.error ~= nil then
    if got.err == e.error then return true end
    return false, "expected error " .. e.error .. ", got " ..
      (got.err and ("error " .. got.err) or R.repr(got.ok))
  end
  if got.err then return false, "expected " .. R.repr(decode_expected(e.ok)) .. ", got error " .. got.err end
  local want = decode_expected(e.ok)
  if step.op == "iterate" and want ~= null then want = sorted_pairs(want) end
  if equal(got.ok, want) then return true end
  return false, "expected " .. R.repr(want) .. ", got " .. R.repr(got.ok)
end

--- Run one case; returns true, or false and a description of the failure.
function R.run_case(case)
  local dir = H.tmpdir()
  local c = {
    path = dir .. "/db",
    options = case.options or {},
    clock = cellardb.fake_clock(case.options and case.options.clock or 1700000000000),
    txns = {},
  }
  local ok, res, why = pcall(function()
    local db, msg, code = R.open(c, c.options)
    local oe = case.open_expect or { ok = null }
    if oe.error ~= nil then
      if db then return false, "open: expected error " .. oe.error .. ", got a db" end
      if code ~= oe.error then return false, "open: expected error " .. oe.error .. ", got " .. tostring(code) .. " (" .. tostring(msg) .. ")" end
    elseif not db then
      return false, "open failed: " .. tostring(code) .. " (" .. tostring(msg) .. ")"
    end
    c.db = db
    local steps = case.steps or { n = 0 }
    for i = 1, (steps.n or #steps) do
      local step = steps[i]
      local good, what = check(step, call(c, step))
      if not good then
        return false, string.format("step %d (%s): %s", i - 1, step.op, what)
      end
    end
    return true
  end)
  for _, t in pairs(c.txns) do pcall(t.rollback, t) end
  if c.db then pcall(c.db.close, c.db) end
  H.rmtree(dir)
  if not ok then return false, "runner error: " .. tostring(res) end
  return res, why
end

--- Every case of a directory (sorted *.json) or of the given files.
function R.load(paths)
  if type(paths) == "string" then paths = { paths } end
  local cases, names = {}, {}
  for _, p in ipairs(paths) do
    local files = {}
    if p:match("%.json$") then
      files[1] = p
    else
      local ok, out = H.sh("ls " .. H.sh_quote(p))
      assert(ok, "cannot list " .. p .. ": " .. out)
      for f in out:gmatch("[^\n]+") do
        if f:match("%.json$") then files[#files + 1] = p .. "/" .. f end
      end
      table.sort(files)
    end
    for _, f in ipairs(files) do
      local doc = json.decode_file(f)
      for i = 1, doc.cases.n do
        local case = doc.cases[i]
        assert(not names[case.name], "duplicate case name " .. tostring(case.name))
        names[case.name] = true
        case.file = f:match("[^/]*$")
        cases[#cases + 1] = case
      end
    end
  end
  return cases
end

local function main(argv)
  local verbose, only, paths = false, nil, {}
  local i = 1
  while argv[i] do
    local a = argv[i]
    if a == "-v" then verbose = true
    elseif a == "-k" then i = i + 1; only = argv[i]
    else paths[#paths + 1] = a end
    i = i + 1
  end
  if #paths == 0 then paths[1] = H.src .. "/tests/spec/cases" end
  local passed, failed = 0, 0
  for _, case in ipairs(R.load(paths)) do
    if not only or case.name:find(only, 1, true) then
      local ok, why = R.run_case(case)
      if ok then
        passed = passed + 1
        if verbose then print("ok   " .. case.name) end
      else
        failed = failed + 1
        print(string.format("FAIL %s [%s]: %s", case.name, case.file, why))
      end
    end
  end
  print(string.format("%d passed, %d failed", passed, failed))
  return failed == 0
end

if CHUNK_ARG ~= "spec_runner" then -- run as a program, not required
  os.exit(main(arg) and 0 or 1, true) -- close the state: finalizers run, valgrind sees no leak
end

return R
