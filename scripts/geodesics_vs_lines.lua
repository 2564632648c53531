-- Are straight latent lines nearly geodesic on a VAE trained on real images (Shao et al.'s
-- finding)? Encodes test images, and for random pairs compares the geodesic's length with the
-- straight line's, both measured in image space. Writes a picture of a few pairs: each pair's
-- line decodings above its geodesic decodings. Also reports how far the geodesics stray in
-- latent space: max_i |z_i| over the path, divided by the larger endpoint norm.
--   georepl scripts/geodesics_vs_lines.lua [PAIRS=40] [OUTDIR=out] [MODEL=fashion-vae] [POINTS=16] [LAMBDA=0]
-- LAMBDA > 0 computes the geodesics of geo.regularized(model, LAMBDA), the metric
-- J^T J + LAMBDA I, and reports both its length ratio and the image-space one.
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/common.lua")
local pairs_n = tonumber(arg[1]) or 40
local outdir = C.mkdir(arg[2] or "out")
local base = geo.model(arg[3])
local points = tonumber(arg[4]) or 16
local lambda = tonumber(arg[5]) or 0
local m = lambda > 0 and geo.regularized(base, lambda) or base
local ds = geo.dataset("fashion-mnist", {split = "test"})

print(string.format("geodesics vs straight lines on %s (latent_dim %d), %d pairs of encoded test images, %d points per path",
  m.name, m.latent_dim, pairs_n, points))
local rng_state = 12345
local function next_index()  -- a small deterministic LCG over the test set
  rng_state = (rng_state * 1103515245 + 12345) % 2147483648
  return rng_state % #ds + 1
end

-- The image-space length of a path: the sum of the chords between its decoded points.
local function image_length(p)
  local x, total = p:decode(), 0
  for i = 2, #x do total = total + (x[i] - x[i - 1]):norm() end
  return total
end
local function max_norm(p)
  local r = 0
  for i = 1, #p do r = math.max(r, p[i]:norm()) end
  return r
end

local ratios, image_ratios, excursions, shown, stops = {}, {}, {}, {}, {}
local clock = geo.clock()
for k = 1, pairs_n do
  local ia, ib = next_index(), next_index()
  local a, b = m:encode(ds[ia]), m:encode(ds[ib])
  local line = geo.line(m, a, b, {points = points})
  local g = geo.geodesic(m, a, b, {points = points, tol = 1e-4})
  local r = g:length() / line:length()
  stops[g.stop] = (stops[g.stop] or 0) + 1
  ratios[#ratios + 1] = r
  image_ratios[#image_ratios + 1] = image_length(g) / image_length(line)
  excursions[#excursions + 1] = max_norm(g) / math.max(a:norm(), b:norm())
  if k <= 4 then shown[#shown + 1] = {line = line, geodesic = g, ia = ia, ib = ib, r = r} end
end
local st = C.stats(ratios)
if lambda > 0 then
  print(string.format("  %-28s %s", "ratio in J^T J + " .. lambda .. " I", C.summary(st, "%.4f")))
  st = C.stats(image_ratios)
end
print(string.format("  %-28s %s", "length ratio geodesic/line", C.summary(st, "%.4f")))
print(string.format("  %-28s %.1f%%", "mean length saved", 100 * (1 - st.mean)))
print(string.format("  %-28s %s", "latent excursion", C.summary(C.stats(excursions), "%.2f")))
local stop_counts = {}
for _, why in ipairs{"converged", "stalled", "line_search", "max_iter"} do
  if stops[why] then stop_counts[#stop_counts + 1] = why .. " " .. stops[why] end
end
print(string.format("  %-28s %s", "geodesic solver stops", table.concat(stop_counts, ", ")))
print(string.format("  %-28s %.1f s", "time (wall clock)", geo.clock() - clock))

local images = {}
for _, s in ipairs(shown) do
  for _, x in ipairs(s.line:decode()) do images[#images + 1] = x end
  for _, x in ipairs(s.geodesic:decode()) do images[#images + 1] = x end
  print(string.format("  pair %s (%s) -> %s (%s): ratio %.4f", s.ia, ds:class(s.ia), s.ib, ds:class(s.ib), s.r))
end
local file = outdir .. "/geodesics_vs_lines.png"
geo.save_png(file, images, {cols = points, scale = 2})
print("  picture: " .. file .. "  (per pair: the line's decodings, then the geodesic's)")
