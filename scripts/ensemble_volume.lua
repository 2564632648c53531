-- The decoder ensemble of the 2-d model against the single model: the volume sqrt(det M(z)) of
-- each member's pull-back metric and of the ensemble metric (1/K) sum_i J_i^T J_i
-- (geo.ensemble), at encoded test images and at points far from the data (|z| = R in DIRS
-- directions evenly spread around the circle). All three decoders share fashion-vae-2d's
-- encoder, so the latent space is one.
--   georepl scripts/ensemble_volume.lua [COUNT=50] [DIRS=16]
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/common.lua")
local n = tonumber(arg[1]) or 50
local dirs = tonumber(arg[2]) or 16
local ds = geo.dataset("fashion-mnist", {split = "test"})
local names = {"fashion-vae-2d", "fashion-vae-2d-member-2", "fashion-vae-2d-member-3"}
local members = {}
for i, name in ipairs(names) do members[i] = geo.model(name) end
local single = members[1]
local ensemble = geo.ensemble(members)
local columns = {{"single", single}, {"member 2", members[2]}, {"member 3", members[3]}, {"ensemble", ensemble}}

local z = {}
for i = 1, n do z[i] = single:encode(ds[(i * 131) % #ds + 1]) end
local radii = {}
for _, r in ipairs({4, 6, 10}) do
  local ring = {}
  for k = 1, dirs do
    local t = 2 * math.pi * (k - 0.5) / dirs
    ring[k] = geo.vec{r * math.cos(t), r * math.sin(t)}
  end
  radii[#radii + 1] = {string.format("|z| = %d (%d directions)", r, dirs), ring}
end

print(string.format("volume sqrt(det M) of the 2-d decoder ensemble (%s) and of its members; median [min, max]",
                    table.concat(names, ", ")))
local header = string.format("  %-30s", "points")
for _, c in ipairs(columns) do header = header .. string.format(" %27s", c[1]) end
print(header .. string.format(" %16s", "ensemble/single"))
for _, set in ipairs({{string.format("%d encoded test images", n), z}, table.unpack(radii)}) do
  local line, medians = string.format("  %-30s", set[1]), {}
  for j, c in ipairs(columns) do
    local v = {}
    for i, p in ipairs(set[2]) do v[i] = c[2]:volume(p) end
    local st = C.stats(v)
    medians[j] = st.median
    line = line .. string.format(" %9.3g [%6.2g, %6.2g]", st.median, st.min, st.max)
  end
  print(line .. string.format(" %16.3g", medians[4] / medians[1]))
end
