-- Fits geo.uncertainty's RBF sigma to Fashion-MNIST's training images for a model file and
-- writes the model with it (georepl.variance), so that geo.uncertainty(m) needs no data.
--   georepl scripts/fit_variance.lua MODEL.safetensors [OUT.safetensors [SEED]]
-- OUT defaults to MODEL (replaced atomically). Options are geo.uncertainty's defaults.
local path = assert(arg[1], "usage: georepl scripts/fit_variance.lua MODEL.safetensors [OUT.safetensors [SEED]]")
local out = arg[2] or path
local m = geo.load(path)
local t = geo.clock()
local u = geo.uncertainty(m, {data = geo.dataset("fashion-mnist"), seed = tonumber(arg[3]) or 1, progress = false})
geo.save(u, out)
print(string.format("%s: sigma fitted in %.1f s -> %s", m.name, geo.clock() - t, out))
