-- The paper's open question: which architectures have curvature? Curvature and geodesic/line
-- length ratios across the shipped models (MLP vs convolutional decoder, latent 2 vs 16), one
-- table. Curvature is scale-dependent, so it is also reported relative to the metric's scale:
-- K times the median metric eigenvalue scale (|K| * vol^(2/d)), comparable across models.
--   georepl scripts/architectures.lua [N=60] [PAIRS=10] [POINTS=16]
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/common.lua")
local n = tonumber(arg[1]) or 60
local npairs = tonumber(arg[2]) or 10
local points = tonumber(arg[3]) or 16
local ds = geo.dataset("fashion-mnist", {split = "test"})

print(string.format("architectures: curvature at %d encoded test images, length ratios of %d pairs (%d points)", n, npairs, points))
print(string.format("  %-18s %6s %11s %11s %11s %11s %9s %9s", "model", "latent", "median |K|", "q95 |K|",
  "median |K|s", "median vol", "ratio", "q05 ratio"))
for _, entry in ipairs(geo.models()) do
  local m = geo.model(entry.name)
  local z = {}
  for i = 1, n do z[i] = m:encode(ds[(i * 131) % #ds + 1]) end
  local k = geo.sweep(m, {points = z, measure = "sectional", seed = 4})
  local absK, scaled, vols = {}, {}, {}
  for i, x in ipairs(k.values) do absK[i] = math.abs(x) end
  for i = 1, n do vols[i] = m:volume(z[i]) end
  local vs = C.stats(vols)
  for i, x in ipairs(absK) do scaled[i] = x * vs.median ^ (2 / m.latent_dim) end
  local ka, ks = C.stats(absK), C.stats(scaled)
  local r = geo.sweep(m, {points = z, samples = npairs, measure = "ratio", path_points = points, tol = 1e-4, seed = 5})
  print(string.format("  %-18s %6d %11.3g %11.3g %11.3g %11.3g %9.4f %9.4f", m.name, m.latent_dim, ka.median, ka.q95,
    ks.median, vs.median, r.mean, r.q05))
end
