-- Fits geo.uncertainty's RBF sigma to Fashion-MNIST's training images for a model file and
-- writes the model with it (georepl.variance), so that geo.uncertainty(m) needs no data.
--   georepl scripts/fit_variance.lua MODEL.safetensors [OUT.safetensors [KEY=VALUE ...]]
-- OUT defaults to MODEL (replaced atomically); each KEY=VALUE is one of geo.uncertainty's
-- numeric options (seed [1], centers, bandwidth, floor, samples, iterations,
-- background_centers, background_bandwidth, background_weight), their defaults otherwise.
-- The shipped fashion-vae-2d and its ensemble members carry the fit
--   seed=2 centers=256 bandwidth=0.5 floor=1e-9 background_centers=64 background_bandwidth=4
--   background_weight=1e-3
-- (local in the gaps between codes, rising on past |z| = 10: README, "Results on
-- Fashion-MNIST"); fashion-vae (seed=1) and fashion-vae-conv (seed=3) the default fit, as
-- scripts/train_models.lua writes them.
local usage = "usage: georepl scripts/fit_variance.lua MODEL.safetensors [OUT.safetensors [KEY=VALUE ...]]"
local path = assert(arg[1], usage)
local out = arg[2] or path
local options = {data = geo.dataset("fashion-mnist"), seed = 1, progress = false}
local given = {}
for i = 3, #arg do
  local key, value = arg[i]:match("^([%a_]+)=(.+)$")
  assert(key and tonumber(value), usage .. "\nnot KEY=NUMBER: " .. arg[i])
  options[key] = tonumber(value)
  given[#given + 1] = arg[i]
end
local m = geo.load(path)
local t = geo.clock()
local u = geo.uncertainty(m, options)
geo.save(u, out)
print(string.format("%s: sigma fitted (%s) in %.1f s -> %s", m.name,
                    #given > 0 and table.concat(given, " ") or "defaults", geo.clock() - t, out))
