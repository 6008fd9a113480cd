-- wrk script for scripts/bench's sign-in under a flood (issue 9): MODE=flood sends
-- every request from one address; MODE=people from a new address each time (many
-- people signing in). The address travels in X-Forwarded-For (the server trusts
-- loopback as its proxy for this run). The summary is one Markdown row.
local n = 0
local mode = os.getenv("MODE") or "people"

request = function()
  n = n + 1
  local ip = "198.51.100.66"
  if mode ~= "flood" then
    ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  end
  return wrk.format("POST", "/auth/login", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Origin"] = os.getenv("ORIGIN"),
    ["X-Forwarded-For"] = ip,
  }, os.getenv("BODY"))
end

done = function(summary, latency, requests)
  local ms = function(p) return string.format("%.1f", latency:percentile(p) / 1000) end
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("| %s | %s | %s | %s | %s | %.1f | %d |\n", os.getenv("NAME"), os.getenv("CONNS"),
    ms(50), ms(95), ms(99), summary.requests / (summary.duration / 1e6), bad))
end
