-- Retrains georepl's three shipped default models from scratch on Fashion-MNIST (Debian's
-- dataset-fashion-mnist), with fixed seeds, and writes them as F32 model files:
--
--   fashion-vae.safetensors        MLP VAE, latent 16 (what geo.model() loads)
--   fashion-vae-2d.safetensors     MLP VAE, latent 2
--   fashion-vae-conv.safetensors   DCGAN-like conv VAE, latent 16
--   fashion-vae-2d-member-2.safetensors, fashion-vae-2d-member-3.safetensors
--                                  two more decoders for fashion-vae-2d's encoder (geo.train_decoder
--                                  on its latent codes; the files hold the decoders only, the
--                                  catalog attaches that encoder): with fashion-vae-2d's own, a
--                                  decoder ensemble of one latent space for geo.ensemble
--
-- Usage (with a release build: debug builds are far slower):
--   georepl scripts/train_models.lua [OUTDIR [NAME [PREVIEWDIR]]]
-- OUTDIR defaults to Sources/GeoEngine/Resources/Models; NAME ("all", a model's name, or
-- "fashion-vae-2d-members" for both members) trains just that; members train on the encoder of
-- OUTDIR's fashion-vae-2d.safetensors (written first when NAME is "all"). PREVIEWDIR, when
-- given, receives PNG grids of each model's samples and test reconstructions (and a latent grid
-- of the 2-d models). Each VAE's file also carries the decoder's fitted uncertainty
-- (georepl.variance, fitted with the model's seed; scripts/fit_variance.lua adds one to an
-- existing file). Training is deterministic for a given seed on one machine; the epochs were
-- chosen so that each VAE trains in about five minutes on a 2-core machine, each member in two
-- to three.

local outdir = arg[1] or "Sources/GeoEngine/Resources/Models"
local only = arg[2] or "all"
local previewdir = arg[3]

local variance2d = {centers = 256, bandwidth = 0.5, floor = 1e-9, background_centers = 64, background_bandwidth = 4,
                    background_weight = 1e-3}
local models = {
    -- Free bits and a KL warm-up keep the 16-d model from collapsing onto a few directions
    -- (without them it used 7 of 16 at encoded test images).
    {name = "fashion-vae", arch = "mlp", latent = 16, epochs = 12, seed = 1, free_bits = 1.0, kl_warmup = 2},
    -- A KL weight of 0.1 spreads the 2-d codes so that the classes separate and leave empty
    -- regions between them (with beta 1 the codes filled one disc). Its uncertainty fit is
    -- local (256 centres, half their clusters' spread: sigma rises in the gaps) with a wide
    -- background layer (64 centres, 4 spreads, scaled 1e-3: sigma keeps rising far from the
    -- data, the volume at |z| = 10 is over 1000 times that at the data; README, "Results on
    -- Fashion-MNIST").
    {name = "fashion-vae-2d", arch = "mlp", latent = 2, epochs = 12, seed = 2, beta = 0.1, variance = variance2d},
    {name = "fashion-vae-conv", arch = "conv", latent = 16, hidden = {32, 64}, epochs = 3, seed = 3},
}

local function fileSize(path)
    local f = assert(io.open(path, "rb"))
    local size = f:seek("end")
    f:close()
    return size
end

-- Samples z ~ N(0, I), reconstructions of test images (originals in the odd columns), and for
-- a 2-d latent space the decoded grid over [-3, 3]^2.
local function previews(m, spec, test)
    local prefix = previewdir .. "/" .. spec.name
    local samples = {}
    for i = 1, 64 do samples[i] = m:decode(geo.randn(m.latent_dim, 1000 + i)) end
    geo.save_png(prefix .. "-samples.png", samples, {cols = 8, scale = 2})
    local pairs_ = {}
    for i = 1, 32 do
        pairs_[#pairs_ + 1] = test[i]
        pairs_[#pairs_ + 1] = m:decode(m:encode(test[i]))
    end
    geo.save_png(prefix .. "-reconstructions.png", pairs_, {cols = 8, scale = 2})
    if m.latent_dim == 2 then
        local grid, n = {}, 12
        for r = 0, n - 1 do
            for c = 0, n - 1 do
                local z = geo.vec{-3 + 6 * c / (n - 1), 3 - 6 * r / (n - 1)}
                grid[#grid + 1] = m:decode(z)
            end
        end
        geo.save_png(prefix .. "-latent-grid.png", grid, {cols = n, scale = 2})
    end
end

local train = geo.dataset("fashion-mnist")
local test = geo.dataset("fashion-mnist", {split = "test"})
local summary = {}

-- Prints and keeps the summary line of a trained model, and writes its previews.
local function report(m, spec, info, path)
    local line = string.format("%s: final loss %.2f, %d epochs, %.1f s (%d:%02d), %d parameters, %d bytes -> %s",
                               spec.name, info.loss, spec.epochs, info.seconds, math.floor(info.seconds / 60),
                               math.floor(info.seconds % 60), info.parameters, fileSize(path), path)
    print(line)
    summary[#summary + 1] = line
    if previewdir then previews(m, spec, test) end
end
for _, spec in ipairs(models) do
    if only == "all" or only == spec.name then
        local path = outdir .. "/" .. spec.name .. ".safetensors"
        print(string.format("training %s: %s, latent %d, %d epochs, seed %d", spec.name, spec.arch, spec.latent,
                            spec.epochs, spec.seed))
        local m, info = geo.train_vae{data = train, arch = spec.arch, latent = spec.latent, hidden = spec.hidden,
                                      epochs = spec.epochs, seed = spec.seed, free_bits = spec.free_bits,
                                      kl_warmup = spec.kl_warmup, beta = spec.beta, out = path, name = spec.name,
                                      verbose = true}
        -- The decoder's uncertainty (geo.uncertainty's RBF sigma, fitted on the training set),
        -- saved with the model so that geo.uncertainty(geo.model(name)) needs no data.
        local options = {data = train, seed = spec.seed, progress = false}
        for k, v in pairs(spec.variance or {}) do options[k] = v end
        geo.save(geo.uncertainty(m, options), path)
        report(m, spec, info, path)
    end
end
-- Decoder ensemble members: new decoders (fresh initialisations from their seeds) trained on
-- the latent codes of their model's encoder, written without that encoder.
local members = {
    {name = "fashion-vae-2d-member-2", model = "fashion-vae-2d", epochs = 12, seed = 21},
    {name = "fashion-vae-2d-member-3", model = "fashion-vae-2d", epochs = 12, seed = 22},
}
-- Their uncertainty fits as fashion-vae-2d's (on the codes of the same encoder).
local memberVariance = {seed = 2}
for k, v in pairs(variance2d) do memberVariance[k] = v end
for _, spec in ipairs(members) do
    if only == "all" or only == spec.name or only == spec.model .. "-members" then
        local path = outdir .. "/" .. spec.name .. ".safetensors"
        print(string.format("training %s: a decoder for the encoder of %s, %d epochs, seed %d", spec.name, spec.model,
                            spec.epochs, spec.seed))
        local base = geo.load(outdir .. "/" .. spec.model .. ".safetensors")
        local m, info = geo.train_decoder{model = base, data = train, epochs = spec.epochs, seed = spec.seed,
                                          name = spec.name, verbose = true}
        local options = {data = train, progress = false}
        for k, v in pairs(memberVariance) do options[k] = v end
        geo.save(geo.uncertainty(m, options), path, {encoder = false})
        report(m, spec, info, path)
    end
end
if #summary == 0 then error("no model named '" .. only .. "'") end
print("\nsummary")
for _, line in ipairs(summary) do print(line) end
