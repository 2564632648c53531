-- How curved is a VAE's latent space trained on real images? Sectional curvature of random
-- planes and scalar curvature, at encoded test images and at samples of the N(0, I) prior.
--   georepl scripts/curvature.lua [N=100] [MODEL=fashion-vae]
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/common.lua")
local n = tonumber(arg[1]) or 100
local m = geo.model(arg[2])
local ds = geo.dataset("fashion-mnist", {split = "test"})

local encoded = {}
for i = 1, n do encoded[i] = m:encode(ds[(i * 97) % #ds + 1]) end
print(string.format("curvature of %s (latent_dim %d), %d points each", m.name, m.latent_dim, n))
local rows = {
  {"sectional, encoded test images", geo.sweep(m, {points = encoded, measure = "sectional", seed = 1})},
  {"sectional, prior samples", geo.sweep(m, {samples = n, measure = "sectional", seed = 2})},
}
if m.latent_dim >= 2 then
  rows[#rows + 1] = {"scalar, encoded test images", geo.sweep(m, {points = encoded, measure = "scalar"})}
  rows[#rows + 1] = {"scalar, prior samples", geo.sweep(m, {samples = n, measure = "scalar", seed = 3})}
end
for _, r in ipairs(rows) do
  print(string.format("  %-32s %s", r[1], C.summary(r[2], "%.3g")))
  if r[2].dropped > 0 then print(string.format("  %-32s %d points dropped (singular metric)", "", r[2].dropped)) end
end
