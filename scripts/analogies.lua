-- Analogies a:b :: c:? between real test images: the change from a to b (e.g. a sneaker to an
-- ankle boot) moved onto c (another sneaker) by the Riemannian analogy (log map, parallel
-- transport along the geodesic a -> c, exponential map at c), beside the linear answer
-- c + (b - a). Writes a picture with one row per analogy: a, b, c, d (geodesic), d (linear).
--   georepl scripts/analogies.lua [COUNT=3] [OUTDIR=out] [MODEL=fashion-vae] [POINTS=16] [LAMBDA=0]
-- LAMBDA > 0 computes on geo.regularized(model, LAMBDA), the metric J^T J + LAMBDA I: needed on
-- models whose decoder ignores some latent directions (see the README).
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/common.lua")
local count = tonumber(arg[1]) or 3
local outdir = C.mkdir(arg[2] or "out")
local m = geo.model(arg[3])
local points = tonumber(arg[4]) or 16
local lambda = tonumber(arg[5]) or 0
if lambda > 0 then m = geo.regularized(m, lambda) end
local ds = geo.dataset("fashion-mnist", {split = "test"})

-- (from class, to class): Sneaker -> Ankle boot, T-shirt -> Dress, Pullover -> Coat, Sandal -> Sneaker
local kinds = {{7, 9}, {0, 3}, {2, 4}, {5, 7}}
print(string.format("analogies a:b :: c:? on %s (latent_dim %d), %d points per geodesic", m.name, m.latent_dim, points))
print(string.format("  %-26s %-16s %10s %10s %10s", "change", "a, b, c (test)", "|d - lin|", "|log|", "residual"))
local images = {}
for k = 1, count do
  local kind = kinds[(k - 1) % #kinds + 1]
  local from = C.images_of_class(ds, kind[1], 2, 1 + 50 * (k - 1))
  local to = C.images_of_class(ds, kind[2], 1, 1 + 50 * (k - 1))
  local ia, ic, ib = from[1], from[2], to[1]
  local a, b, c = m:encode(ds[ia]), m:encode(ds[ib]), m:encode(ds[ic])
  local lin = c + (b - a)
  local change = ds.classes[kind[1]] .. " -> " .. ds.classes[kind[2]]
  local ok, d, t = pcall(geo.analogy, m, a, b, c, {points = points, tol = 1e-4})
  if ok then
    print(string.format("  %-26s %-16s %10.4f %10.4f %10.1e", change, ia .. "," .. ib .. "," .. ic, (d - lin):norm(), t.log:norm(), t.residual))
    for _, x in ipairs{ds[ia], ds[ib], ds[ic], m:decode(d), m:decode(lin)} do images[#images + 1] = x end
  else
    failures = (failures or 0) + 1
    print(string.format("  %-26s %-16s failed: %s", change, ia .. "," .. ib .. "," .. ic, tostring(d):match("^[^\n]*")))
  end
end
if #images > 0 then
  local file = outdir .. "/analogies.png"
  geo.save_png(file, images, {cols = 5, scale = 3})
  print("  picture: " .. file .. "  (rows: a, b, c, d by geodesic analogy, d by c + b - a)")
end
if failures then print(string.format("  %d of %d analogies failed (the log map's shooting did not reach b)", failures, count)) end
