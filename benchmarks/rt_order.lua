-- wrk script: each request POSTs a fresh 0.01-lot EURUSD market order (unique client_order_id).
local counter = 0
local tid = tostring(math.random(1, 1000000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local body = '{"symbol":"EURUSD","side":"buy","volume":0.01,"client_order_id":"w' .. tid .. "-" .. counter .. '"}'
  return wrk.format(nil, nil, nil, body)
end
