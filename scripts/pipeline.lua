-- wrk script: 16 requests per write (HTTP/1.1 pipelining).
-- usage: wrk -t1 -c100 -d10s -s scripts/pipeline.lua http://127.0.0.1:8080/
local depth = tonumber(os.getenv("PIPELINE_DEPTH") or "16")

init = function(args)
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, wrk.path)
  end
  req = table.concat(r)
end

request = function()
  return req
end
