-- The distance-matrix benchmark of the README: N encoded test images on geo.model(), the graph
-- method (k neighbours, edges by 8-point geodesics), timed; then the graph distances of 50
-- random pairs against refined geodesics (64 points, Newton from the straight line: a reference
-- independent of the graph), whose lengths are the reference. Peak memory: run under /usr/bin/time -v.
--   georepl scripts/distance_benchmark.lua [N=1000 [K=10 [PAIRS=50]]]
local n = tonumber(arg[1]) or 1000
local k = tonumber(arg[2]) or 10
local npairs = tonumber(arg[3]) or 50
local m = geo.model()
local test = geo.dataset("fashion-mnist", {split = "test"})
local pts = {}
for i = 1, n do pts[i] = m:encode(test[i]) end

local t0 = geo.clock()
local g = geo.graph(m, pts, {k = k, progress = false})
local t1 = geo.clock()
local D = g:distances()
local t2 = geo.clock()
print(string.format("%d points, k = %d: %d edges weighed in %.1f s (%.1f ms each), all-pairs Dijkstra %.2f s, total %.1f s",
                    n, k, #g:edges(), t1 - t0, 1000 * (t1 - t0) / #g:edges(), t2 - t1, t2 - t0))

-- Random pairs (seeded), graph distance against the refined geodesic from the graph path.
local rel, worse, unconverged, below = {}, 0, 0, 0
local state = 12345
local function rand(limit) state = (state * 1103515245 + 12345) % 2147483648 return state % limit + 1 end
local t3 = geo.clock()
for _ = 1, npairs do
  local i, j = rand(n), rand(n)
  while j == i do j = rand(n) end
  local p = geo.geodesic(m, pts[i], pts[j], {points = 64})
  local ref = p:length()
  if not p.converged then unconverged = unconverged + 1 end
  local e = (D:get(i, j) - ref) / ref
  if e < 0 then below = below + 1 end
  rel[#rel + 1] = e
end
table.sort(rel)
local mean = 0
for _, e in ipairs(rel) do mean = mean + e end
mean = mean / #rel
print(string.format("graph vs refined geodesics (64 points) on %d pairs: relative error mean %.4f, median %.4f, max %.4f; %d pairs below the geodesic, %d geodesics not converged (%.1f s)",
                    #rel, mean, rel[(#rel + 1) // 2], rel[#rel], below, unconverged, geo.clock() - t3))
