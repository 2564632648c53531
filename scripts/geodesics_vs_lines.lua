-- Are straight latent lines nearly geodesic on a VAE trained on real images (Shao et al.'s
-- finding)? Encodes test images, and for random pairs compares the geodesic's length with the
-- straight line's, both measured in image space. Writes a picture of a few pairs: each pair's
-- line decodings above its geodesic decodings.
--   georepl scripts/geodesics_vs_lines.lua [PAIRS=40] [OUTDIR=out] [MODEL=fashion-vae] [POINTS=16]
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/common.lua")
local pairs_n = tonumber(arg[1]) or 40
local outdir = C.mkdir(arg[2] or "out")
local m = geo.model(arg[3])
local points = tonumber(arg[4]) or 16
local ds = geo.dataset("fashion-mnist", {split = "test"})

print(string.format("geodesics vs straight lines on %s (latent_dim %d), %d pairs of encoded test images, %d points per path",
  m.name, m.latent_dim, pairs_n, points))
local rng_state = 12345
local function next_index()  -- a small deterministic LCG over the test set
  rng_state = (rng_state * 1103515245 + 12345) % 2147483648
  return rng_state % #ds + 1
end

local ratios, shown = {}, {}
local clock = os.clock()
for k = 1, pairs_n do
  local ia, ib = next_index(), next_index()
  local a, b = m:encode(ds[ia]), m:encode(ds[ib])
  local line = geo.line(m, a, b, {points = points})
  local g = geo.geodesic(m, a, b, {points = points, tol = 1e-4})
  local r = g:length() / line:length()
  ratios[#ratios + 1] = r
  if k <= 4 then shown[#shown + 1] = {line = line, geodesic = g, ia = ia, ib = ib, r = r} end
end
local st = C.stats(ratios)
print(string.format("  %-28s %s", "length ratio geodesic/line", C.summary(st, "%.4f")))
print(string.format("  %-28s %.1f%%", "mean length saved", 100 * (1 - st.mean)))
print(string.format("  %-28s %.1f s", "time", os.clock() - clock))

local images = {}
for _, s in ipairs(shown) do
  for _, x in ipairs(s.line:decode()) do images[#images + 1] = x end
  for _, x in ipairs(s.geodesic:decode()) do images[#images + 1] = x end
  print(string.format("  pair %s (%s) -> %s (%s): ratio %.4f", s.ia, ds:class(s.ia), s.ib, ds:class(s.ib), s.r))
end
local file = outdir .. "/geodesics_vs_lines.png"
geo.save_png(file, images, {cols = points, scale = 2})
print("  picture: " .. file .. "  (per pair: the line's decodings, then the geodesic's)")
