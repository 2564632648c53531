-- The paper's open question: which architectures have curvature? Curvature and geodesic/line
-- length ratios across the shipped models (MLP vs convolutional decoder, latent 2 vs 16), one
-- table. Curvature is scale-dependent, so it is also reported relative to the metric's scale:
-- K times the median metric eigenvalue scale (|K| * vol^(2/d)), comparable across models.
-- "used" is the median number of latent directions the decoder uses (singular values of J above
-- 1% of the largest); a model that ignores some gets a second row with the regularised metric
-- J^T J + LAMBDA I (geo.regularized), on which its geodesics stay with the data.
--   georepl scripts/architectures.lua [N=60] [PAIRS=10] [POINTS=16] [LAMBDA=0.1]
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/common.lua")
local n = tonumber(arg[1]) or 60
local npairs = tonumber(arg[2]) or 10
local points = tonumber(arg[3]) or 16
local lambda = tonumber(arg[4]) or 0.1
local ds = geo.dataset("fashion-mnist", {split = "test"})

print(string.format("architectures: curvature at %d encoded test images, length ratios of %d pairs (%d points)", n, npairs, points))
print(string.format("  %-18s %6s %4s %11s %11s %11s %11s %9s %9s", "model", "latent", "used", "median |K|", "q95 |K|",
  "median |K|s", "median vol", "ratio", "q05 ratio"))

-- The median number of singular values of J above 1% of the largest, over the points z.
local function used_directions(m, z)
  local counts = {}
  for i = 1, #z do
    local s, used = m:singular_values(z[i]), 0
    for j = 1, #s do if s[j] > 1e-2 * s[1] then used = used + 1 end end
    counts[i] = used
  end
  return C.stats(counts).median
end

local function row(m, z, used)
  local k = geo.sweep(m, {points = z, measure = "sectional", seed = 4})
  local absK, scaled, vols = {}, {}, {}
  for i, x in ipairs(k.values) do absK[i] = math.abs(x) end
  for i = 1, #z do vols[i] = m:volume(z[i]) end
  local vs = C.stats(vols)
  for i, x in ipairs(absK) do scaled[i] = x * vs.median ^ (2 / m.latent_dim) end
  local ka, ks = C.stats(absK), C.stats(scaled)
  local r = geo.sweep(m, {points = z, samples = npairs, measure = "ratio", path_points = points, tol = 1e-4, seed = 5})
  print(string.format("  %-18s %6d %4d %11.3g %11.3g %11.3g %11.3g %9.4f %9.4f", m.name, m.latent_dim, used, ka.median,
    ka.q95, ks.median, vs.median, r.mean, r.q05))
end

for _, entry in ipairs(geo.models()) do
  local m = geo.model(entry.name)
  local z = {}
  for i = 1, n do z[i] = m:encode(ds[(i * 131) % #ds + 1]) end
  local used = used_directions(m, z)
  row(m, z, used)
  if used < m.latent_dim then row(geo.regularized(m, lambda), z, used_directions(geo.regularized(m, lambda), z)) end
end
