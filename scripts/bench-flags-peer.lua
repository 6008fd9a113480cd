-- wrk script for scripts/bench-flags-peer: each request for a user drawn at random
-- from USERS (a file, one id a line). KIND says the request:
--   unleash  GET <path>?userId=<id> with Authorization: <TOKEN> (Unleash frontend API)
--   ofrep    POST <path> with {"context":{"targetingKey":"<id>"}} and X-API-Key: <TOKEN>
-- The summary is one Markdown row (latency percentiles in ms, requests per second).
local users = {}
for line in io.lines(os.getenv("USERS")) do
  if line ~= "" then users[#users + 1] = line end
end
local kind = os.getenv("KIND")
local token = os.getenv("TOKEN")
local path = wrk.path

init = function(args)
  -- Each thread its own sequence, so two threads do not ask for the same users in step.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

request = function()
  local id = users[math.random(#users)]
  if kind == "unleash" then
    return wrk.format("GET", path .. "?userId=" .. id, { ["Authorization"] = token })
  end
  return wrk.format("POST", path, { ["X-API-Key"] = token, ["Content-Type"] = "application/json" },
    '{"context":{"targetingKey":"' .. id .. '"}}')
end

done = function(summary, latency, requests)
  local ms = function(p) return string.format("%.2f", latency:percentile(p) / 1000) end
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("| %s | %s | %s | %s | %s | %s | %.0f | %s | %d |\n", os.getenv("SYSTEM"), os.getenv("NAME"),
    os.getenv("CONNS"), ms(50), ms(95), ms(99), summary.requests / (summary.duration / 1e6), os.getenv("FLAGS"), bad))
end
