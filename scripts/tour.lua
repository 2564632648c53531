-- A tour of georepl's geometry on the sphere and the torus, printing each computed value
-- beside its closed form.    georepl scripts/tour.lua
local function row(what, computed, exact)
  local err, kind = math.abs(computed - exact), "abs.err"
  if exact ~= 0 then err, kind = err / math.abs(exact), "rel.err" end
  print(string.format("  %-46s %18.12f %18.12f   %s %.1e", what, computed, exact, kind, err))
end
local function header(title)
  print(title)
  print(string.format("  %-46s %18s %18s", "", "computed", "closed form"))
end

-- Sphere of radius r, latent (polar angle t, azimuth p).
local r = 2
local s = geo.sphere{radius = r}
header(string.format("Sphere of radius %g", r))
local a, b = geo.vec{1.0, 0.2}, geo.vec{2.0, 2.5}
local great = r * math.acos(s:decode(a):dot(s:decode(b)) / r^2)
for _, solver in ipairs{"newton", "georce", "descent"} do
  local p = geo.geodesic(s, a, b, {solver = solver, points = 64})
  row(string.format("geodesic length (%s, %d iterations)", solver, p.iterations), p:length(), great)
end
local line = geo.line(s, a, b)
print(string.format("  %-46s %18.12f", "straight latent line length", line:length()))
local v = geo.log(s, a, b)
local vnorm = math.sqrt(v:dot(s:metric(a) * v))
row("|log_a(b)| in the metric", vnorm, great)
local e = geo.exp(s, a, v)
row("|exp_a(log_a(b)) - b| (latent)", (e - b):norm(), 0)
row("sectional curvature K", geo.sectional(s, a, geo.vec{1, 0}, geo.vec{0.3, 1}), 1 / r^2)
row("scalar curvature", geo.scalar(s, a), 2 / r^2)
for _, t in ipairs{0.5, 1.0} do
  local loop = geo.line(s, geo.vec{t, 0}, geo.vec{t, 2 * math.pi}, {points = 2001})
  row(string.format("holonomy around latitude t = %.1f", t), geo.holonomy(s, loop, geo.vec{1, 0}), 2 * math.pi * (1 - math.cos(t)))
end
local w = geo.transport(s, geo.geodesic(s, a, b), geo.vec{0.3, 0.1})
row("length after transport along the geodesic", math.sqrt(w:dot(s:metric(b) * w)), math.sqrt(geo.vec{0.3, 0.1}:dot(s:metric(a) * geo.vec{0.3, 0.1})))

-- Torus with radii R, r: K = cos t / (r (R + r cos t)).
local R, rr = 2, 1
local tor = geo.torus{R = R, r = rr}
header(string.format("\nTorus R = %g, r = %g", R, rr))
for _, t in ipairs{0, math.pi / 2, 2, math.pi} do
  row(string.format("sectional curvature at t = %.4f", t), geo.sectional(tor, geo.vec{t, 0.7}, geo.vec{1, 0}, geo.vec{0, 1}),
      math.cos(t) / (rr * (R + rr * math.cos(t))))
end
local sw = geo.sweep(tor, {samples = 500, seed = 1})
print(string.format("  sweep of 500 random planes: mean %.4f, min %.4f, max %.4f  (range [%.4f, %.4f])",
  sw.mean, sw.min, sw.max, -1 / (rr * (R - rr)), 1 / (rr * (R + rr))))

-- Flat spaces: plane and Swiss roll (isometric to the plane).
header("\nPlane and Swiss roll")
local pl, roll = geo.plane{}, geo.swissroll{}
local d = geo.analogy(pl, geo.vec{0, 0}, geo.vec{1, 2}, geo.vec{5, 5})
row("plane analogy 0:(1,2) :: (5,5):d, d_1", d[1], 6)
row("plane analogy d_2", d[2], 7)
local dr = geo.analogy(roll, geo.vec{0, 0}, geo.vec{1, 0.5}, geo.vec{-1, 1})
row("Swiss roll analogy d_1 (unrolled: c + b - a)", dr[1], 0)
row("Swiss roll analogy d_2", dr[2], 1.5)
row("Swiss roll sectional curvature", geo.sectional(roll, geo.vec{0.3, 1}, geo.vec{1, 0}, geo.vec{0, 1}), 0)
local ratio = geo.sweep(roll, {samples = 5, seed = 3, measure = "ratio"})
row("Swiss roll geodesic/line length ratio (mean)", ratio.mean, 1)
