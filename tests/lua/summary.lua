-- summary.lua - busted output handler for cellardb's Lua tests.
--
--   busted -o tests/lua/summary.lua ...
--
-- Prints each failure and error with its location, then one closing line
-- `N passed, N failed` (errors count as failed; pending tests are listed
-- as skipped), which packaging/test.sh and CI read.

return function(options)
  local busted = require 'busted'
  local handler = require 'busted.outputHandlers.base'()

  local function describe_failure(kind, f)
    local where = ""
    local trace = f.element and f.element.trace
    if trace and trace.short_src then
      where = trace.short_src .. ":" .. tostring(trace.currentline) .. ": "
    end
    local msg = f.message
    if type(msg) ~= "string" then msg = tostring(msg) end
    io.write(string.format("%s %s%s\n    %s\n", kind, where, f.name,
                           (msg or "nil"):gsub("\n", "\n    ")))
  end

  handler.suiteEnd = function()
    for _, f in ipairs(handler.failures) do describe_failure("FAIL ", f) end
    for _, f in ipairs(handler.errors) do describe_failure("ERROR", f) end
    for _, p in ipairs(handler.pendings) do
      io.write(string.format("SKIP  %s%s\n", p.name,
                             type(p.message) == "string" and (": " .. p.message) or ""))
    end
    local passed = handler.successesCount
    local failed = handler.failuresCount + handler.errorsCount
    local line = string.format("%d passed, %d failed", passed, failed)
    if handler.pendingsCount > 0 then
      line = line .. string.format(", %d skipped", handler.pendingsCount)
    end
    io.write(line, "\n")
    io.flush()
    return nil, true
  end

  handler.testEnd = function(element, parent, status)
    if options.verbose then
      io.write(string.format("%-7s %s\n", status, handler.getFullName(element)))
    end
    return nil, true
  end

  busted.subscribe({ 'suite', 'end' }, handler.suiteEnd)
  busted.subscribe({ 'test', 'end' }, handler.testEnd, { predicate = handler.cancelOnPending })
  return handler
end
