-- Fits geo.uncertainty's RBF sigma to Fashion-MNIST's training images for a model file and
-- writes the model with it (georepl.variance), so that geo.uncertainty(m) needs no data.
--   georepl scripts/fit_variance.lua MODEL.safetensors [OUT.safetensors [SEED [BANDWIDTH [FLOOR]]]]
-- OUT defaults to MODEL (replaced atomically); SEED to 1; BANDWIDTH and FLOOR to
-- geo.uncertainty's defaults (1 and 1e-3). The shipped fashion-vae-2d carries the fit of
-- seed 2, bandwidth 4 and floor 1e-5, whose shell of large volume reaches past |z| = 10 (README,
-- "Results on Fashion-MNIST"); fashion-vae (seed 1) and fashion-vae-conv (seed 3) the default
-- fit, as scripts/train_models.lua writes them.
local usage = "usage: georepl scripts/fit_variance.lua MODEL.safetensors [OUT.safetensors [SEED [BANDWIDTH [FLOOR]]]]"
local path = assert(arg[1], usage)
local out = arg[2] or path
local options = {data = geo.dataset("fashion-mnist"), seed = tonumber(arg[3]) or 1, progress = false}
if arg[4] then options.bandwidth = assert(tonumber(arg[4]), usage) end
if arg[5] then options.floor = assert(tonumber(arg[5]), usage) end
local m = geo.load(path)
local t = geo.clock()
local u = geo.uncertainty(m, options)
geo.save(u, out)
print(string.format("%s: sigma fitted (seed %d, bandwidth %g, floor %g) in %.1f s -> %s", m.name, options.seed,
                    options.bandwidth or 1, options.floor or 1e-3, geo.clock() - t, out))
