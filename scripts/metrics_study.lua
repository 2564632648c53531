-- How far do geodesics leave the data under each metric? For the shipped 2-d and 16-d models:
-- the pull-back J^T J, J^T J + 0.1 I (geo.regularized), the uncertainty metric of Arvanitidis et
-- al. (geo.uncertainty: the model's shipped fit, else one fitted here), Fisher-Rao
-- (geo.fisher_rao) and, when the ensemble members are installed, the decoder ensemble
-- (geo.ensemble). For geodesics between test images of different classes it reports
--   ratio      geodesic length / straight-line length, both in that metric
--   excursion  the largest |z_t| along the geodesic / the larger endpoint norm
--   to data    the mean distance of the geodesic's points to the nearest encoded training image
--              (latent space), and the same for the straight line
--   K q05/q50/q95  quantiles of sectional curvature at encoded test images (random planes)
-- and, for the 2-d model, the volume sqrt(det M) at the encoded test images and at |z| = 10.
--   georepl scripts/metrics_study.lua [PAIRS=8] [MODEL=all]
local pairsWanted = tonumber(arg[1]) or 8
local only = arg[2] or "all"
local train = geo.dataset("fashion-mnist")
local test = geo.dataset("fashion-mnist", {split = "test"})

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return 0 / 0 end
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end
local function mean(t) local s = 0 for _, v in ipairs(t) do s = s + v end return s / #t end

-- Endpoint pairs: test images of two different classes, the k-th image of class a with the
-- k-th of class b, for class pairs (0,7), (1,8), (2,9), (3,5), ... in turn.
local function classPairs(n)
  local byClass = {}
  for i = 1, 2000 do
    local c = test:label(i)
    byClass[c] = byClass[c] or {}
    table.insert(byClass[c], i)
  end
  local classes = {{0, 7}, {1, 8}, {2, 9}, {3, 5}, {4, 6}, {0, 9}, {1, 5}, {6, 8}}
  local out = {}
  for k = 1, n do
    local cp = classes[(k - 1) % #classes + 1]
    local r = (k - 1) // #classes + 1
    out[k] = {byClass[cp[1]][r], byClass[cp[2]][r]}
  end
  return out
end

local function study(name)
  local m = geo.model(name)
  local codes = {}
  for i = 1, 2000 do codes[i] = m:encode(train[(i * 29) % #train + 1]) end
  local function toData(z)
    local best = math.huge
    for _, c in ipairs(codes) do
      local d = (z - c):norm()
      if d < best then best = d end
    end
    return best
  end
  local metrics = {{"pull-back", m}, {"+0.1 I", geo.regularized(m, 0.1)}}
  local ok, u = pcall(geo.uncertainty, m)
  if not ok then u = geo.uncertainty(m, {data = train, progress = false}) end
  metrics[#metrics + 1] = {"uncertainty", u}
  metrics[#metrics + 1] = {"Fisher-Rao", geo.fisher_rao(m)}
  local members = {m}
  for k = 2, 3 do
    local okm, mk = pcall(geo.model, name .. "-member-" .. k)
    if okm then members[#members + 1] = mk end
  end
  if #members > 1 then metrics[#metrics + 1] = {"ensemble of " .. #members, geo.ensemble(members)} end

  local pairs_ = classPairs(pairsWanted)
  local curvPoints = {}
  for i = 1, 40 do curvPoints[i] = m:encode(test[100 + i]) end
  print(string.format("\n%s (latent %d), %d geodesics of 16 points between test images of two classes",
                      name, m.latent_dim, #pairs_))
  print("| metric | ratio (median) | excursion (median) | to data: geodesic / line (mean) | K q05 / q50 / q95 | failed |")
  print("|---|---|---|---|---|---|")
  for _, entry in ipairs(metrics) do
    local label, g = entry[1], entry[2]
    local ratios, excursions, dg, dl, failed = {}, {}, {}, {}, 0
    for _, pr in ipairs(pairs_) do
      local a, b = m:encode(test[pr[1]]), m:encode(test[pr[2]])
      local okp, p = pcall(geo.geodesic, g, a, b, {points = 16})
      if okp and p.converged then
        local line = geo.line(g, a, b, {points = 16})
        ratios[#ratios + 1] = p:length() / line:length()
        local big, ends = 0, math.max(a:norm(), b:norm())
        local sg, sl = 0, 0
        for t = 1, #p do
          big = math.max(big, p[t]:norm())
          sg = sg + toData(p[t]); sl = sl + toData(line[t])
        end
        excursions[#excursions + 1] = big / ends
        dg[#dg + 1] = sg / #p; dl[#dl + 1] = sl / #p
      else
        failed = failed + 1
      end
    end
    local sw = geo.sweep(g, {points = curvPoints, measure = "sectional", seed = 1})
    print(string.format("| %s | %.3f | %.2f | %.3f / %.3f | %.3g / %.3g / %.3g | %d |", label, median(ratios),
                        median(excursions), #dg > 0 and mean(dg) or 0 / 0, #dl > 0 and mean(dl) or 0 / 0,
                        sw.q05, sw.median, sw.q95, failed))
  end
  if m.latent_dim == 2 then
    local at, far = {}, {}
    for i = 1, 50 do at[i] = u:volume(m:encode(test[i])) end
    for k = 0, 15 do
      local t = k * math.pi / 8
      far[#far + 1] = u:volume(geo.vec{10 * math.cos(t), 10 * math.sin(t)})
    end
    print(string.format("uncertainty metric volume sqrt(det M): median %.3g at 50 encoded test images, median %.3g (min %.3g) at |z| = 10: ratio %.3g",
                        median(at), median(far), math.min(table.unpack(far)), median(far) / median(at)))
    local radii = {}
    for _, r in ipairs({2, 4, 5, 6, 8, 10}) do
      local v = {}
      for k = 0, 15 do local t = k * math.pi / 8 v[#v + 1] = u:volume(geo.vec{r * math.cos(t), r * math.sin(t)}) end
      radii[#radii + 1] = string.format("|z|=%d: %.3g", r, median(v))
    end
    print("median volume on circles: " .. table.concat(radii, ", "))
  end
end

for _, name in ipairs({"fashion-vae-2d", "fashion-vae"}) do
  if only == "all" or only == name then study(name) end
end
