-- wrk script for scripts/bench: the request comes from the environment, and the
-- summary is one Markdown row (latency percentiles in ms, requests per second).
wrk.method = os.getenv("METHOD") or "GET"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Origin"] = os.getenv("ORIGIN")
if os.getenv("TOKEN") then
  wrk.headers["Cookie"] = "pf_session=" .. os.getenv("TOKEN")
end
if os.getenv("BEARER") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BEARER")
end

done = function(summary, latency, requests)
  local ms = function(p) return string.format("%.2f", latency:percentile(p) / 1000) end
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("| %s | %s | %s | %s | %s | %.0f | %d |\n", os.getenv("NAME"), os.getenv("CONNS"),
    ms(50), ms(95), ms(99), summary.requests / (summary.duration / 1e6), bad))
end
