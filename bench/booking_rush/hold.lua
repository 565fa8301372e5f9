-- wrk script: every request holds a seat, for a (user, session) pair that
-- no other request uses. Each wrk thread takes its own range of users and
-- walks the sessions for each of them. Files from booking_rush:
-- tokens.txt (one bearer token per line), sessions.txt (one id per line).
local function lines(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

local dir = os.getenv("BOOKING_RUSH_DIR")
local tokens = lines(dir .. "/tokens.txt")
local sessions = lines(dir .. "/sessions.txt")
local threads = tonumber(os.getenv("BOOKING_RUSH_THREADS"))
local counter = 0
local first_user = 0
local per_thread = 0

local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

-- tokens.txt holds this round's users only (each client's own share,
-- from booking_rush), so rounds and configurations never share a pair.
function init(args)
  per_thread = math.floor(#tokens / threads)
  first_user = id * per_thread
end

function request()
  local user = first_user + math.floor(counter / #sessions)
  local session = sessions[(counter % #sessions) + 1]
  counter = counter + 1
  if user >= first_user + per_thread then
    user = first_user -- out of pairs: repeats answer 409, counted as errors
  end
  return wrk.format("POST", "/api/sessions/" .. session .. "/checkout", {
    ["Authorization"] = "Bearer " .. tokens[user + 1],
    ["Content-Type"] = "application/json",
  }, "{}")
end
