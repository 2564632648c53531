-- Shared helpers for the study scripts (loaded with dofile from the scripts' own folder).
local M = {}

--- The folder this script lives in, from arg[0].
function M.here()
  return (arg and arg[0] and arg[0]:match("^(.*)/[^/]*$")) or "."
end

--- Ensures a folder exists (POSIX mkdir -p through the shell).
function M.mkdir(dir)
  os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
  return dir
end

--- "mean 0.991  q05 0.982  median 0.993  q95 0.999" for a geo.sweep-style table.
function M.summary(st, fmt)
  fmt = fmt or "%.4g"
  return string.format("mean " .. fmt .. "  std " .. fmt .. "  q05 " .. fmt .. "  median " .. fmt .. "  q95 " .. fmt
    .. "  min " .. fmt .. "  max " .. fmt .. "  (n=%d)", st.mean, st.std, st.q05, st.median, st.q95, st.min, st.max, st.count)
end

--- Summary statistics of a list of numbers, in geo.sweep's format.
function M.stats(values)
  local t = {}
  for _, x in ipairs(values) do if x == x and x ~= math.huge and x ~= -math.huge then t[#t + 1] = x end end
  table.sort(t)
  local n = #t
  assert(n > 0, "no finite values")
  local sum = 0
  for _, x in ipairs(t) do sum = sum + x end
  local mean = sum / n
  local ss = 0
  for _, x in ipairs(t) do ss = ss + (x - mean)^2 end
  local function q(p)
    local h = (n - 1) * p
    local k = math.floor(h)
    if k + 1 >= n then return t[n] end
    return t[k + 1] + (h - k) * (t[k + 2] - t[k + 1])
  end
  return {mean = mean, std = n > 1 and math.sqrt(ss / (n - 1)) or 0, min = t[1], max = t[n],
          median = q(0.5), q05 = q(0.05), q95 = q(0.95), count = n, values = t}
end

--- Test images of the given class (0-9), up to `count`, starting at `from`.
function M.images_of_class(ds, class, count, from)
  local out = {}
  for i = from or 1, #ds do
    if ds:label(i) == class then out[#out + 1] = i; if #out == count then break end end
  end
  return out
end

return M
