-- wrk script: each request POSTs a fresh 0.01-lot EURUSD market order. The client_order_id is
-- unique across runs: the run's prefix comes after `--` on wrk's command line (Lua's
-- math.random is unseeded, so a random prefix would repeat in every wrk process).
local counter = 0
local prefix = "w"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
init = function(args)
  prefix = args[1] or prefix
end
request = function()
  counter = counter + 1
  local body = '{"symbol":"EURUSD","side":"buy","volume":0.01,"client_order_id":"' .. prefix .. "-" .. counter .. '"}'
  return wrk.format(nil, nil, nil, body)
end
