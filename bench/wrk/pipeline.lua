-- Pipelining scenario: each write carries 16 GET requests; wrk counts the 16 responses one by one.
local depth = 16
local batch
init = function(args)
  local parts = {}
  for i = 1, depth do
    parts[i] = wrk.format("GET", wrk.path)
  end
  batch = table.concat(parts)
end
request = function()
  return batch
end
