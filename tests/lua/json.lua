-- json.lua - the small JSON decoder the Lua conformance runner needs.
--
-- Decodes what tests/spec/README.md allows: objects, arrays, strings with the
-- standard escapes (\uXXXX, surrogate pairs included, encoded as UTF-8),
-- integers, true, false and null. JSON null decodes to the sentinel json.null
-- (so arrays keep their length); arrays carry their length in field n.
-- Test code only: the cellardb module itself never parses JSON.

local json = {}

json.null = setmetatable({}, { __tostring = function() return "null" end })

local byte, sub, char, find = string.byte, string.sub, string.char, string.find

local function fail(s, i, what)
  local line = 1
  for _ in sub(s, 1, i):gmatch("\n") do line = line + 1 end
  error(string.format("json: %s at line %d (byte %d)", what, line, i), 0)
end

local function skip(s, i)
  local _, e = find(s, "^[ \t\r\n]*", i)
  return e + 1
end

local function utf8_of(cp)
  return utf8.char(cp)
end

local escapes = {
  [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f",
  [110] = "\n", [114] = "\r", [116] = "\t",
}

local function parse_string(s, i) -- s[i] is the opening quote
  local parts, j = {}, i + 1
  while true do
    local a, b = find(s, '^[^"\\]+', j)
    if a then
      parts[#parts + 1] = sub(s, a, b)
      j = b + 1
    end
    local c = byte(s, j)
    if c == nil then fail(s, j, "unterminated string") end
    if c == 34 then return table.concat(parts), j + 1 end
    -- a backslash
    local e = byte(s, j + 1)
    if e == 117 then -- \uXXXX
      local hex = sub(s, j + 2, j + 5)
      if not hex:match("^%x%x%x%x$") then fail(s, j, "bad \\u escape") end
      local cp = tonumber(hex, 16)
      j = j + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        local lo = sub(s, j, j + 5)
        if not lo:match("^\\u[dD][c-fC-F]%x%x$") then fail(s, j, "lone surrogate") end
        cp = 0x10000 + ((cp - 0xD800) << 10) + (tonumber(sub(lo, 3), 16) - 0xDC00)
        j = j + 6
      elseif cp >= 0xDC00 and cp <= 0xDFFF then
        fail(s, j, "lone surrogate")
      end
      parts[#parts + 1] = utf8_of(cp)
    elseif escapes[e] then
      parts[#parts + 1] = escapes[e]
      j = j + 2
    else
      fail(s, j, "bad escape")
    end
  end
end

local parse_value

local function parse_array(s, i)
  local arr, n = {}, 0
  i = skip(s, i + 1)
  if byte(s, i) == 93 then arr.n = 0; return arr, i + 1 end
  while true do
    local v
    v, i = parse_value(s, i)
    n = n + 1
    arr[n] = v
    i = skip(s, i)
    local c = byte(s, i)
    if c == 93 then arr.n = n; return arr, i + 1 end
    if c ~= 44 then fail(s, i, "expected ',' or ']'") end
    i = skip(s, i + 1)
  end
end

local function parse_object(s, i)
  local obj = {}
  i = skip(s, i + 1)
  if byte(s, i) == 125 then return obj, i + 1 end
  while true do
    if byte(s, i) ~= 34 then fail(s, i, "expected a string key") end
    local k
    k, i = parse_string(s, i)
    i = skip(s, i)
    if byte(s, i) ~= 58 then fail(s, i, "expected ':'") end
    local v
    v, i = parse_value(s, skip(s, i + 1))
    obj[k] = v
    i = skip(s, i)
    local c = byte(s, i)
    if c == 125 then return obj, i + 1 end
    if c ~= 44 then fail(s, i, "expected ',' or '}'") end
    i = skip(s, i + 1)
  end
end

parse_value = function(s, i)
  i = skip(s, i)
  local c = byte(s, i)
  if c == 123 then return parse_object(s, i) end
  if c == 91 then return parse_array(s, i) end
  if c == 34 then return parse_string(s, i) end
  local num = s:match("^-?%d+", i)
  if num then
    if s:match("^[.eE]", i + #num) then fail(s, i, "only integers are allowed") end
    return math.tointeger(tonumber(num)), i + #num
  end
  if sub(s, i, i + 3) == "true" then return true, i + 4 end
  if sub(s, i, i + 4) == "false" then return false, i + 5 end
  if sub(s, i, i + 3) == "null" then return json.null, i + 4 end
  fail(s, i, "unexpected character")
end

--- Decode one JSON text; raises "json: ... at line N" on malformed input.
function json.decode(s)
  local v, i = parse_value(s, 1)
  i = skip(s, i)
  if i <= #s then fail(s, i, "trailing characters") end
  return v
end

--- Read and decode a file.
function json.decode_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return json.decode(s)
end

return json
