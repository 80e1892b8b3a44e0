-- One wrk script for every scenario of bench/run.mjs, configured by `-- key=value` arguments.
-- Runs with one wrk thread (-t1): the state below is that thread's.
--
--   mode=fixed      the same request every time (method, path, body, auth, cookie)
--   mode=authorize  GET path (a returning user's authorization request); the code of each 303
--                   Location is appended to out=FILE (codes prepared through the real flow)
--   mode=code       POST /token exchanging the codes of in=FILE, one per request; the refresh and
--                   access tokens of each answer are appended to out=FILE
--   mode=refresh    POST /token with the refresh tokens of in=FILE, one per request (rotation); the
--                   new refresh token of each answer is appended to out=FILE
--   mode=flow       the whole browserless code flow of a returning user: GET path (authorize) and,
--                   for each code received, POST /token; `flows` counts the token answers
-- Bodies use the placeholder @ for the code or token. When the input runs out the thread stops and
-- `exhausted` says so (the figures then cover fewer requests than the duration allowed); run.mjs
-- prepares enough that this does not happen in measured rounds.
-- done() prints one JSON line that run.mjs reads.

local cfg = {}
local items = {}
local nextItem = 1
local outFile = nil
local fixed = nil
local queue = {}
flows = 0 -- globals: done() reads them through thread:get
exhausted = 0
local wanted = 0

local function unescape(s)
  return (s:gsub('%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))
end

function init(args)
  for _, a in ipairs(args) do
    local k, v = a:match('^([%w_]+)=(.*)$')
    if k then cfg[k] = unescape(v) end
  end
  cfg.method = cfg.method or 'GET'
  if cfg['in'] then
    for line in io.lines(cfg['in']) do
      if #line > 0 then items[#items + 1] = line end
    end
  end
  if cfg.out then
    outFile = io.open(cfg.out, 'a')
    outFile:setvbuf('line')
  end
  wanted = (cfg.mode == 'authorize' or cfg.mode == 'code' or cfg.mode == 'refresh' or cfg.mode == 'flow') and 1 or 0
  if cfg.mode == 'fixed' or cfg.mode == 'authorize' then
    fixed = wrk.format(cfg.method, cfg.path, headers(cfg.body ~= nil), cfg.body)
  end
end

function headers(withBody)
  local h = {}
  if cfg.auth then h['Authorization'] = cfg.auth end
  if cfg.cookie then h['Cookie'] = cfg.cookie end
  if withBody then h['Content-Type'] = 'application/x-www-form-urlencoded' end
  return h
end

local function tokenRequest(value)
  local body = cfg.body:gsub('@', function() return value end)
  return wrk.format('POST', cfg.tokenpath or '/token', headers(true), body)
end

function request()
  if fixed then return fixed end
  if cfg.mode == 'flow' then
    local code = table.remove(queue)
    if code then return tokenRequest(code) end
    return wrk.format('GET', cfg.path, headers(false), nil)
  end
  local item = items[nextItem]
  if not item then
    -- Never send a used code or token again: a replay revokes the grant (at the peer, every token
    -- of the user and client). An unknown value is refused without side effects.
    exhausted = 1
    wrk.thread:stop()
    item = 'exhausted-not-a-valid-value'
  end
  nextItem = nextItem + 1
  return tokenRequest(item)
end

local function codeOf(hdrs)
  local location = hdrs['Location'] or hdrs['location']
  if not location then return nil end
  local code = location:match('[?&]code=([^&]+)')
  return code and unescape(code) or nil
end

function response(status, hdrs, body)
  if wanted == 0 then return end
  if cfg.mode == 'authorize' then
    local code = codeOf(hdrs)
    if code and outFile then outFile:write(code, '\n') end
  elseif cfg.mode == 'flow' then
    if status == 303 or status == 302 then
      local code = codeOf(hdrs)
      if code then queue[#queue + 1] = code end
    elseif status == 200 then
      flows = flows + 1
    end
  elseif status == 200 and outFile then
    local rt = body:match('"refresh_token":"([^"]+)"')
    if cfg.mode == 'code' then
      local at = body:match('"access_token":"([^"]+)"')
      outFile:write(rt or '-', ' ', at or '-', '\n')
    elseif rt then
      outFile:write(rt, '\n')
    end
  end
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local f, x = 0, 0
  for _, t in ipairs(threads) do
    f = f + (t:get('flows') or 0)
    x = math.max(x, t:get('exhausted') or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors_status":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d,"flows":%d,"exhausted":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout, f, x))
end
