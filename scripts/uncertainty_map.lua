-- Pictures of the 2-d model's latent space under the plain pull-back metric and under the
-- uncertainty metric (its shipped fit): sqrt det M(z) over [-R, R]^2 on a log colour scale,
-- the encoded test images as white dots, and geodesics between test images of two classes
-- under each metric, with each geodesic's mean distance to the nearest of 2000 encoded
-- training images (how far the path leaves the data).
-- Paths have PATHPOINTS points (the uncertainty metric changes on the scale of its RBF
-- centres' spread, so the polyline needs to be fine) and Newton up to MAXITER iterations.
--   georepl scripts/uncertainty_map.lua [OUTDIR=out [RANGE=4 [POINTS=600 [RESOLUTION=160 [PATHPOINTS=96 [MAXITER=600]]]]]]
-- Writes OUTDIR/latent_pullback.png and OUTDIR/latent_uncertainty.png.
local outdir = arg[1] or "out"
local range = tonumber(arg[2]) or 4
local npoints = tonumber(arg[3]) or 600
local resolution = tonumber(arg[4]) or 160
local pathPoints = tonumber(arg[5]) or 96
local maxIter = tonumber(arg[6]) or 600
os.execute("mkdir -p '" .. outdir:gsub("'", "'\\''") .. "'")

local m = geo.model("fashion-vae-2d")
local u = geo.uncertainty(m)   -- the fit the model file carries
local train = geo.dataset("fashion-mnist")
local test = geo.dataset("fashion-mnist", {split = "test"})

local dots = {}
for i = 1, npoints do dots[i] = m:encode(test[i]) end
local codes = {}
for i = 1, 2000 do codes[i] = m:encode(train[(i * 29) % #train + 1]) end
local function toData(p)
  local sum = 0
  for t = 1, #p do
    local best = math.huge
    for _, c in ipairs(codes) do best = math.min(best, (p[t] - c):norm()) end
    sum = sum + best
  end
  return sum / #p
end

-- The first test image of each class, and pairs of classes far apart in the latent disc.
local first = {}
for i = 1, #test do
  local c = test:class(i)
  if not first[c] then first[c] = i end
end
local pairs_ = {{"Trouser", "Bag"}, {"Sneaker", "Shirt"}, {"Sandal", "Coat"}, {"Ankle boot", "Dress"}}

for _, entry in ipairs({{"pullback", m}, {"uncertainty", u}}) do
  local label, g = entry[1], entry[2]
  local paths, parts = {}, {}
  for _, pr in ipairs(pairs_) do
    local a, b = m:encode(test[first[pr[1]]]), m:encode(test[first[pr[2]]])
    local p = geo.geodesic(g, a, b, {points = pathPoints, max_iter = maxIter})
    paths[#paths + 1] = p
    parts[#parts + 1] = string.format("%s -> %s %.3f (line %.3f, %s)", pr[1], pr[2], toData(p),
                                      toData(geo.line(g, a, b, {points = pathPoints})), p.stop)
  end
  local file = outdir .. "/latent_" .. label .. ".png"
  geo.latent_map(g, file, {paths = paths, points = dots, range = range, resolution = resolution, width = 480, progress = false})
  print(string.format("%s: %s", label, file))
  print("  mean distance to the data along each geodesic: " .. table.concat(parts, "; "))
end
