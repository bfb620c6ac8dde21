-- conformance_spec.lua - the shared conformance suite (tests/spec/cases),
-- one busted test per case. spec_runner.lua does the work (and runs alone).

local H = require "helpers"
local runner = require "spec_runner"

local cases_dir = H.src .. "/tests/spec/cases"

describe("conformance suite", function()
  local ok, cases = pcall(runner.load, cases_dir)
  if not ok then
    it("loads " .. cases_dir, function() error(cases) end)
    return
  end
  it("has cases", function() assert.truthy(#cases > 0) end)
  for _, case in ipairs(cases) do
    it(case.file .. ": " .. case.name, function()
      local passed, why = runner.run_case(case)
      assert(passed, why)
    end)
  end
end)
