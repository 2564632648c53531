-- How many latent directions does a decoder use? The singular values of J at encoded test
-- images: a direction whose singular value is far below the largest one is ignored by the
-- decoder (a VAE's collapsed unit), and there the pull-back metric J^T J is nearly singular
-- (see geo.regularized in the README).
--   georepl scripts/singular_values.lua [MODEL=fashion-vae] [COUNT=100]
local m = geo.model(arg[1])
local n = tonumber(arg[2]) or 100
local ds = geo.dataset("fashion-mnist", {split = "test"})
local counts, byRank = {}, {}
for k = 1, n do
  local s = m:singular_values(m:encode(ds[k]))
  local used = 0
  for i = 1, #s do
    if s[i] > 1e-2 * s[1] then used = used + 1 end
    byRank[i] = byRank[i] or {}
    byRank[i][k] = s[i]
  end
  counts[used] = (counts[used] or 0) + 1
end
local medians = {}
for i = 1, #byRank do
  table.sort(byRank[i])
  local v = byRank[i]
  medians[i] = string.format("%.2g", #v % 2 == 1 and v[(#v + 1) // 2] or (v[#v // 2] + v[#v // 2 + 1]) / 2)
end
print(string.format("%s: median singular values of J at %d encoded test images: %s", m.name, n, table.concat(medians, " ")))
local lines = {}
for used, images in pairs(counts) do
  lines[#lines + 1] = string.format("%d directions above 1%% of s_1: %d images", used, images)
end
table.sort(lines)
print("  " .. table.concat(lines, "; "))
