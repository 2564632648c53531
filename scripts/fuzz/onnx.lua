-- The ONNX-file fuzzer of georepl.
--
--     georepl scripts/fuzz/onnx.lua SEED COUNT DIR [LOGFILE [FIRST]]
--
-- Builds COUNT ONNX files (files FIRST..COUNT) with a small protobuf encoder in Lua
-- (onnxproto.lua, the field numbers of onnx.proto): valid small models first (MLPs with Gemm
-- or MatMul+Add and activations; conv decoders with Reshape, ConvTranspose and Conv with
-- groups, dilations, pads and auto_pad, BatchNormalization, Resize; residual blocks with Add of
-- branches, Instance/Layer/GroupNormalization, Concat, Mul, Where+Greater, Softmax, Transpose
-- and MatMul of two values; the shape sub-graphs of torch's legacy exporter: Shape, Gather,
-- Unsqueeze, Concat, Reshape), weights as raw_data, float_data, double_data, int32_data or
-- external data files next to the model, in FLOAT, DOUBLE and FLOAT16, and the shipped
-- fixtures Tests/Fixtures/onnx/*.onnx (with their .onnx.data) as seeds; then mutates most of
-- them: the graph (unknown ops and domains, missing/empty/extra inputs, cycles, values
-- produced twice, outputs never produced, dangling names, odd dims and dim_params, attributes
-- of wrong types and values, impossible reshapes, extreme slices, huge Expand/ConstantOfShape/
-- Range/Resize, broadcasts folded into huge constants, empty constants with huge dims through
-- shape ops, chains of folded constants that together pass the address space, opsets 0..999),
-- the tensors (type codes 0..30, raw_data and typed fields of
-- the wrong length, external data outside the folder, missing, past the end, non-numeric),
-- the protobuf encoding (truncation, over-long varints, wrong wire types, lengths past the end
-- or huge, unknown fields and groups, deep nesting) and the bytes (truncation, flips). Also
-- consistent-but-huge graphs (Resize and ConvTranspose outputs of 10^7-10^8 entries,
-- thousands of nodes). Each file is loaded with geo.load (sometimes geo.load{decoder=,
-- encoder=, name=, data_shape=}) under pcall; when it loads, decode, jacobian, metric, volume,
-- a short geodesic (points = 4) and sectional curvature (latent_dim >= 2) are tried on it.
--
-- File k draws from its own generator seeded from (SEED, k): `onnx.lua SEED k DIR LOG k`
-- rebuilds file k alone (GEOREPL_FUZZ_KEEP=1 keeps the files: DIR/SEED-k.onnx, its external
-- data DIR/SEED-k.data and an encoder DIR/SEED-k.enc.onnx).
--
-- Log lines (flushed before each load and each operation, outcome after it):
--     SEED K onnx KIND [mutations] SIZE bytes PATH => loaded|error|unclear|interrupted TIME [message]
--     SEED K op NAME => ok|error|unclear|interrupted TIME [message]
--
-- Environment: GEOREPL_FUZZ_SKIP (comma-separated mutation, kind or operation names to leave
-- out), GEOREPL_FUZZ_ONLY (only these mutations and kinds), GEOREPL_FUZZ_KEEP=1,
-- GEOREPL_FUZZ_FIXTURES (the folder of the fixtures; default Tests/Fixtures/onnx of the
-- checkout).
--
-- Last line on stdout:
--     onnx: seed S files N loaded L errors E unclear U interrupted I ops O op_errors P op_unclear Q slow X next K

local here = (arg and arg[0] and arg[0]:match("^(.*)/[^/]*$")) or "."
local lib = dofile(here .. "/lib.lua")
local P = dofile(here .. "/onnxproto.lua")

local SEED = math.tointeger(tonumber(arg[1] or ""))
local COUNT = math.tointeger(tonumber(arg[2] or ""))
local DIR = arg[3]
if not SEED or not COUNT or not DIR then
  io.stderr:write("usage: georepl scripts/fuzz/onnx.lua SEED COUNT DIR [LOGFILE [FIRST]]\n")
  os.exit(2)
end
local LOGFILE = arg[4]
local FIRST = math.tointeger(tonumber(arg[5] or "1")) or 1
local SKIP = lib.skip_set()
local ONLY = nil
for name in (os.getenv("GEOREPL_FUZZ_ONLY") or ""):gmatch("[^,%s]+") do ONLY = ONLY or {}; ONLY[name] = true end
local KEEP = os.getenv("GEOREPL_FUZZ_KEEP") == "1"
local DEBUG = os.getenv("GEOREPL_FUZZ_DEBUG") == "1"
local FIXTURES = os.getenv("GEOREPL_FUZZ_FIXTURES") or (here .. "/../../Tests/Fixtures/onnx")
lib.mkdir(DIR)
local log = lib.log(LOGFILE, SEED)
local clock = geo.clock or os.clock

local rng = lib.rng(SEED, 0)
local MAXI, MINI = math.maxinteger, math.mininteger

------------------------------------------------------------------------------------------------
-- Values.

local ESC = "\27[2J\27[31m\27]0;pwned\7\8\13"
local function long_name(n) return string.rep("A" .. ESC, n // (1 + #ESC) + 1):sub(1, n) end
local BAD_UTF8 = "\255\254\192\128\237\160\128"
local function weird_name()
  return rng:pick({"", " ", long_name(10000), BAD_UTF8, "a\0b", ESC, "%s%n", "onnx::Gemm_0", "z", "\226\128\174x",
                   string.rep("n", 300), "../x", "/"})
end
local function weird_int()
  return rng:pick({0, -1, 1, 2, 3, 7, 100, 65536, 65537, 2^31, 2^32, 2^40, 2^53, 2^62, MAXI, MINI, -2^62, 1e9, 1e10})
end
local function weird_float()
  return rng:pick({0 / 0, math.huge, -math.huge, 0.0, -0.0, 1e-45, 1e38, -1e38, 3.5e38, 1e300, 0.5, -1, 2 ^ 63, 1e-300})
end
local function weird_ints()
  return rng:pick({{}, {0}, {-1}, {0, 0}, {1, 1}, {-1, -1}, {2^62, 2^62}, {MAXI, MAXI}, {MINI, 1}, {1, 1, 1, 1, 1, 1},
                   {65537, 65537}, {1e9, 1e9}, {2, 2, 2, 2}, {-2^62, 1, 1, 1}})
end

------------------------------------------------------------------------------------------------
-- Tensors and attributes (message tables of onnxproto.lua).

local FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT64, INT32, BOOL = P.FLOAT, P.DOUBLE, P.FLOAT16, P.BFLOAT16, P.INT64, P.INT32, P.BOOL

local function clampi(x, lo, hi)
  x = P.int(x)
  if x < lo then return lo elseif x > hi then return hi end
  return x
end
local PACK = {
  [FLOAT] = function(x) return string.pack("<f", x) end,
  [DOUBLE] = function(x) return string.pack("<d", x) end,
  [FLOAT16] = function(x) return string.pack("<I2", lib.f16bits(x)) end,
  [BFLOAT16] = function(x) return string.pack("<f", x):sub(3, 4) end,
  [INT64] = function(x) return string.pack("<i8", P.int(x)) end,
  [INT32] = function(x) return string.pack("<i4", clampi(x, -2^31, 2^31 - 1)) end,
  [P.INT16] = function(x) return string.pack("<i2", clampi(x, -32768, 32767)) end,
  [P.INT8] = function(x) return string.pack("<i1", clampi(x, -128, 127)) end,
  [P.UINT8] = function(x) return string.pack("<I1", clampi(x, 0, 255)) end,
  [P.UINT16] = function(x) return string.pack("<I2", clampi(x, 0, 65535)) end,
  [P.UINT32] = function(x) return string.pack("<I4", clampi(x, 0, 2^32 - 1)) end,
  [P.UINT64] = function(x) return string.pack("<i8", P.int(x)) end,
  [BOOL] = function(x) return string.pack("<I1", (x ~= 0 and x == x) and 1 or 0) end,
}
local SIZE = {[FLOAT] = 4, [DOUBLE] = 8, [FLOAT16] = 2, [BFLOAT16] = 2, [INT64] = 8, [INT32] = 4, [P.INT16] = 2,
              [P.INT8] = 1, [P.UINT8] = 1, [P.UINT16] = 2, [P.UINT32] = 4, [P.UINT64] = 8, [BOOL] = 1}

local function raw_bytes(values, dtype)
  local pack = PACK[dtype] or PACK[FLOAT]
  if values.fill then return string.rep(pack(values.fill), values.n) end
  local parts = {}
  for i = 1, #values do parts[i] = pack(values[i]) end
  return table.concat(parts)
end

local function expand_values(values)
  if not values.fill then return values end
  local t = {}
  for i = 1, values.n do t[i] = values.fill end
  return t
end

--- The typed field of TensorProto that holds `dtype`, and the values as that field stores them.
local function typed_field(dtype, values)
  values = expand_values(values)
  if dtype == FLOAT then return "float_data", values
  elseif dtype == DOUBLE then return "double_data", values
  elseif dtype == FLOAT16 or dtype == BFLOAT16 then
    local t = {}
    for i, x in ipairs(values) do
      t[i] = dtype == FLOAT16 and lib.f16bits(x) or string.unpack("<I2", string.pack("<f", x):sub(3, 4))
    end
    return "int32_data", t
  elseif dtype == INT64 then
    local t = {}
    for i, x in ipairs(values) do t[i] = P.int(x) end
    return "int64_data", t
  elseif dtype == P.UINT32 or dtype == P.UINT64 then
    local t = {}
    for i, x in ipairs(values) do t[i] = P.int(x) end
    return "uint64_data", t
  else
    local t = {}
    for i, x in ipairs(values) do t[i] = P.int(x) end
    return "int32_data", t
  end
end

-- The file being built (names of its files, external data parts).
local CUR = nil

--- A TensorProto. `how`: "raw", "typed" or "external" (appended to the current file's data).
local function tensor(name, dims, values, dtype, how)
  local t = {name = name, dims = dims, data_type = dtype}
  local n = values.fill and values.n or #values
  if how == "typed" and n > 100000 then how = "raw" end
  if how == "typed" then
    local field, list = typed_field(dtype, values)
    t[field] = list
  elseif how == "external" and CUR then
    local bytes = raw_bytes(values, dtype)
    local offset = CUR.ext_size
    CUR.ext[#CUR.ext + 1] = bytes
    CUR.ext_size = offset + #bytes
    t.external_data = {{key = "location", value = CUR.ext_name}}
    if offset > 0 or rng:chance(0.5) then t.external_data[#t.external_data + 1] = {key = "offset", value = tostring(offset)} end
    if rng:chance(0.8) then t.external_data[#t.external_data + 1] = {key = "length", value = tostring(#bytes)} end
    t.data_location = 1
    CUR.has_external = true
  else
    t.raw_data = raw_bytes(values, dtype)
  end
  return t
end

local A = {}
function A.i(name, v) return {name = name, type = P.A_INT, i = v} end
function A.f(name, v) return {name = name, type = P.A_FLOAT, f = v} end
function A.s(name, v) return {name = name, type = P.A_STRING, s = v} end
function A.ints(name, v) return {name = name, type = P.A_INTS, ints = v} end
function A.floats(name, v) return {name = name, type = P.A_FLOATS, floats = v} end
function A.t(name, v) return {name = name, type = P.A_TENSOR, t = v} end

local function value_info(name, shape, elem, batch_param)
  local dims = {}
  for i, d in ipairs(shape or {}) do
    if i == 1 and batch_param then dims[i] = {dim_param = batch_param} else dims[i] = {dim_value = d} end
  end
  local tt = {elem_type = elem or FLOAT}
  if shape then tt.shape = {dim = dims} end
  return {name = name, type = {tensor_type = tt}}
end

local function count(shape)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  return n
end
local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end
local function append(a, b)
  local c = {}
  for _, x in ipairs(a) do c[#c + 1] = x end
  for _, x in ipairs(b) do c[#c + 1] = x end
  return c
end

------------------------------------------------------------------------------------------------
-- A graph builder that tracks the static shape of every value.

local Builder = {}
Builder.__index = Builder

local function builder(opset)
  local wtype = rng:pick({FLOAT, FLOAT, FLOAT, FLOAT, DOUBLE, FLOAT16})
  local b = setmetatable({node = {}, initializer = {}, input = {}, output = {}, value_info = {}, shapes = {}, n = 0,
    opset = opset or rng:pick({13, 14, 15, 16, 17, 17, 18, 18, 19, 20, 20, 21}), wtype = wtype,
    -- Storage of the weights: raw_data mostly; typed fields; external data.
    store_w = {rng:range(20, 80), rng:range(0, 30), rng:chance(0.4) and rng:range(10, 60) or 0},
    const_nodes = rng:chance(0.25), legacy_inputs = rng:chance(0.08), vinfo = rng:chance(0.3)}, Builder)
  return b
end

function Builder:fresh(prefix)
  self.n = self.n + 1
  return string.format("%s_%d", prefix, self.n)
end

--- A weight (a float tensor) of the given dims: an initializer or a Constant node.
function Builder:weight(prefix, dims, values, dtype)
  local name = self:fresh(prefix)
  dtype = dtype or self.wtype
  local how = ({"raw", "typed", "external"})[rng:weighted(self.store_w)]
  local t = tensor(name, dims, values, dtype, how)
  if self.const_nodes and rng:chance(0.5) then
    t.name = nil
    self.node[#self.node + 1] = {input = {}, output = {name}, name = self:fresh("Constant"), op_type = "Constant", attribute = {A.t("value", t)}}
  else
    self.initializer[#self.initializer + 1] = t
    if self.legacy_inputs then self.input[#self.input + 1] = value_info(name, dims, dtype) end
  end
  self.shapes[name] = dims
  return name
end

function Builder:randn(prefix, dims, scale)
  local n = count(dims)
  local v = {}
  for i = 1, n do v[i] = rng:normal() * scale end
  return self:weight(prefix, dims, v)
end
function Builder:fill(prefix, dims, x) return self:weight(prefix, dims, {fill = x, n = count(dims)}) end
function Builder:positive(prefix, dims)
  local v = {}
  for i = 1, count(dims) do v[i] = 0.5 + rng:float() end
  return self:weight(prefix, dims, v)
end

--- An INT64 constant (shapes, axes, indices): 1-D, or a scalar when `scalar`.
function Builder:ints(prefix, list, scalar)
  local name = self:fresh(prefix)
  local dims = scalar and {} or {#list}
  if self.const_nodes and rng:chance(0.6) then
    local a
    if scalar or rng:chance(0.7) then a = A.t("value", tensor(nil, dims, list, INT64, rng:chance(0.8) and "raw" or "typed"))
    else a = A.ints("value_ints", list) end
    self.node[#self.node + 1] = {input = {}, output = {name}, name = self:fresh("Constant"), op_type = "Constant", attribute = {a}}
  else
    self.initializer[#self.initializer + 1] = tensor(name, dims, list, INT64, rng:chance(0.8) and "raw" or "typed")
  end
  self.shapes[name] = dims
  return name
end

--- A float scalar constant (dims {} or {1}).
function Builder:scalar(prefix, x)
  local name = self:fresh(prefix)
  local dims = rng:chance(0.7) and {} or {1}
  local t = tensor(name, dims, {x}, FLOAT, rng:chance(0.8) and "raw" or "typed")
  if self.const_nodes and rng:chance(0.6) then
    t.name = nil
    self.node[#self.node + 1] = {input = {}, output = {name}, name = self:fresh("Constant"), op_type = "Constant", attribute = {A.t("value", t)}}
  else
    self.initializer[#self.initializer + 1] = t
  end
  self.shapes[name] = dims
  return name
end

--- A node with one output of the given shape; returns the output's name.
function Builder:op(op_type, inputs, attrs, shape)
  local out = self:fresh(op_type:lower())
  local node = {input = inputs, output = {out}, name = self:fresh("/" .. op_type), op_type = op_type, attribute = attrs or {}}
  if rng:chance(0.05) then node.domain = "" end
  self.node[#self.node + 1] = node
  self.shapes[out] = shape
  if self.vinfo and shape and rng:chance(0.5) then self.value_info[#self.value_info + 1] = value_info(out, shape) end
  return out
end

function Builder:model(input, output, out_shape)
  local g = {node = self.node, name = rng:pick({"main_graph", "torch_jit", "g"}), initializer = self.initializer,
             input = self.input, output = {}, value_info = self.value_info}
  local vi = value_info(output, out_shape or self.shapes[output], FLOAT, rng:chance(0.15) and "batch" or nil)
  if rng:chance(0.1) then vi.type.tensor_type.shape = nil end
  g.output[1] = vi
  local m = {ir_version = rng:pick({7, 8, 8, 9, 10}), producer_name = rng:pick({"pytorch", "georepl-fuzz"}),
             producer_version = "2.5.0", graph = g,
             opset_import = {{domain = rng:chance(0.9) and "" or "ai.onnx", version = self.opset}}}
  if rng:chance(0.1) then table.insert(m.opset_import, {domain = "com.microsoft", version = 1}) end
  return m
end

--- The graph input (the latent point) of shape [1, d] (first dim sometimes symbolic).
function Builder:latent(d)
  local name = rng:pick({"z", "onnx::Gemm_0", "input.1", "latent", "z"})
  local param = rng:chance(0.2) and rng:pick({"batch", "s0", "N"}) or nil
  table.insert(self.input, 1, value_info(name, {1, d}, FLOAT, param))
  self.shapes[name] = {1, d}
  return name
end

------------------------------------------------------------------------------------------------
-- Layers (valid, shapes exact).

local function act(b, x)
  local s = b.shapes[x]
  local choices = {"Relu", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Softplus", "Selu", "HardSigmoid", "Softsign",
                   "Clip", "Identity", "Neg", "Abs", "Erf"}
  if b.opset >= 12 then choices[#choices + 1] = "Celu" end
  if b.opset >= 14 then choices[#choices + 1] = "HardSwish" end
  if b.opset >= 18 then choices[#choices + 1] = "Mish" end
  if b.opset >= 20 then choices[#choices + 1] = "Gelu" end
  if b.opset >= 13 then choices[#choices + 1] = "Dropout" end
  local op = rng:pick(choices)
  if op == "LeakyRelu" then return b:op(op, {x}, rng:chance(0.8) and {A.f("alpha", rng:pick({0.01, 0.2, 0.1}))} or {}, s)
  elseif op == "Elu" or op == "Celu" then return b:op(op, {x}, rng:chance(0.5) and {A.f("alpha", rng:pick({1.0, 0.5}))} or {}, s)
  elseif op == "HardSigmoid" then return b:op(op, {x}, {A.f("alpha", 0.2), A.f("beta", 0.5)}, s)
  elseif op == "Gelu" then return b:op(op, {x}, rng:chance(0.5) and {A.s("approximate", rng:pick({"tanh", "none"}))} or {}, s)
  elseif op == "Clip" then
    local lo, hi = b:scalar("min", -1), b:scalar("max", 1)
    if rng:chance(0.3) then return b:op(op, {x, "", hi}, {}, s) end
    return b:op(op, {x, lo, hi}, {}, s)
  elseif op == "Dropout" then
    if rng:chance(0.5) then return b:op(op, {x, b:scalar("ratio", 0.1)}, {}, s) end
    return b:op(op, {x}, {}, s)
  end
  return b:op(op, {x}, {}, s)
end

--- [1, n] -> [1, m]: Gemm or MatMul (+ Add).
local function linear(b, x, m)
  local n = b.shapes[x][2]
  local scale = 1 / math.sqrt(n)
  if rng:chance(0.6) then
    local transB = rng:chance(0.7) and 1 or 0
    local w = b:randn("weight", transB == 1 and {m, n} or {n, m}, scale)
    local attrs = {}
    if transB == 1 or rng:chance(0.3) then attrs[#attrs + 1] = A.i("transB", transB) end
    if rng:chance(0.5) then attrs[#attrs + 1] = A.f("alpha", rng:pick({1.0, 0.5, 2.0})) end
    if rng:chance(0.5) then attrs[#attrs + 1] = A.f("beta", rng:pick({1.0, 0.5})) end
    if rng:chance(0.3) then attrs[#attrs + 1] = A.i("transA", 0) end
    local inputs = {x, w}
    if rng:chance(0.85) then inputs[3] = b:randn("bias", rng:pick({{m}, {m}, {1, m}}), 0.1) end
    return b:op("Gemm", inputs, attrs, {1, m})
  end
  local w = b:randn("weight", {n, m}, scale)
  local y = b:op("MatMul", {x, w}, {}, {1, m})
  if rng:chance(0.8) then
    local bias = b:randn("bias", {m}, 0.1)
    y = b:op("Add", rng:chance(0.8) and {y, bias} or {bias, y}, {}, {1, m})
  end
  return y
end

local function divisors(n)
  local t = {}
  for i = 1, n do if n % i == 0 then t[#t + 1] = i end end
  return t
end

--- Reshape x to `shape` with a constant shape input (0 and -1 entries sometimes).
local function reshape(b, x, shape)
  local s = b.shapes[x]
  local req = {}
  for i, d in ipairs(shape) do req[i] = d end
  if rng:chance(0.3) then req[rng:int(#req)] = -1 end
  if rng:chance(0.2) and s[1] == shape[1] and req[1] ~= -1 then req[1] = 0 end
  local attrs = {}
  if b.opset >= 14 and rng:chance(0.3) then attrs[1] = A.i("allowzero", 0) end
  return b:op("Reshape", {x, b:ints("shape", req)}, attrs, shape)
end

--- torch's legacy exporter: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [rest])).
local function legacy_reshape(b, x, shape)
  local s = b.shapes[x]
  local sh = b:op("Shape", {x}, {}, {#s})
  local first
  if rng:chance(0.7) then
    local g = b:op("Gather", {sh, b:ints("idx", {0}, true)}, {A.i("axis", 0)}, {})
    if b.opset >= 13 then first = b:op("Unsqueeze", {g, b:ints("axes", {0})}, {}, {1})
    else first = b:op("Unsqueeze", {g}, {A.ints("axes", {0})}, {1}) end
  else
    first = b:op("Slice", {sh, b:ints("starts", {0}), b:ints("ends", {1})}, {}, {1})
  end
  local rest = {}
  for i = 2, #shape do rest[#rest + 1] = shape[i] end
  if #rest > 0 and rng:chance(0.3) then rest[rng:int(#rest)] = -1 end
  local cat = first
  if #rest > 0 then cat = b:op("Concat", {first, b:ints("rest", rest)}, {A.i("axis", 0)}, {#shape}) end
  if rng:chance(0.3) then cat = b:op("Cast", {cat}, {A.i("to", INT64)}, {#shape}) end
  return b:op("Reshape", {x, cat}, {}, shape)
end

local function out_conv(h, k, s, d, pb, pe) return (h + pb + pe - ((k - 1) * d + 1)) // s + 1 end
local function out_convt(h, k, s, d, pb, pe, op) return s * (h - 1) + op + (k - 1) * d + 1 - pb - pe end

--- Conv on [1, C, H, W] (or [1, C, L]).
local function conv(b, x, cout, opts)
  opts = opts or {}
  local s = b.shapes[x]
  local c, spatial = s[2], #s - 2
  local g = opts.group or rng:pick(divisors(c))
  if cout % g ~= 0 then cout = g * math.max(1, cout // g) end
  local ks, strides, dil, pads, outs = {}, {}, {}, {}, {}
  for a = 1, spatial do
    local h = s[2 + a]
    ks[a] = opts.k or rng:range(1, math.min(3, h + 2))
    strides[a] = opts.stride or (rng:chance(0.7) and 1 or 2)
    dil[a] = opts.dil or (rng:chance(0.8) and 1 or 2)
  end
  local auto = not opts.same and rng:chance(0.12) and rng:pick({"SAME_UPPER", "SAME_LOWER", "VALID"}) or nil
  for a = 1, spatial do
    local h = s[2 + a]
    local span = (ks[a] - 1) * dil[a] + 1
    if opts.same then
      pads[a], pads[a + spatial] = (span - 1) // 2, span - 1 - (span - 1) // 2
    else
      pads[a], pads[a + spatial] = rng:range(0, ks[a] - 1), rng:range(0, ks[a] - 1)
    end
    if auto == "VALID" then pads[a], pads[a + spatial] = 0, 0 end
    if auto and auto ~= "VALID" then outs[a] = (h + strides[a] - 1) // strides[a]
    else outs[a] = out_conv(h, ks[a], strides[a], dil[a], pads[a], pads[a + spatial]) end
    if outs[a] < 1 then
      -- Fall back to a 1x1 convolution on this axis.
      ks[a], dil[a], pads[a], pads[a + spatial] = 1, 1, 0, 0
      outs[a] = out_conv(h, 1, strides[a], 1, 0, 0)
    end
  end
  local wdims = {cout, c // g}
  for a = 1, spatial do wdims[#wdims + 1] = ks[a] end
  local w = b:randn("conv.weight", wdims, 1 / math.sqrt(c // g * count(ks)))
  local attrs = {}
  if rng:chance(0.7) then attrs[#attrs + 1] = A.ints("kernel_shape", ks) end
  if auto then attrs[#attrs + 1] = A.s("auto_pad", auto)
  elseif rng:chance(0.8) or pads[1] ~= 0 or pads[#pads] ~= 0 then attrs[#attrs + 1] = A.ints("pads", pads) end
  if rng:chance(0.7) or strides[1] ~= 1 or strides[spatial] ~= 1 then attrs[#attrs + 1] = A.ints("strides", strides) end
  if rng:chance(0.5) or dil[1] ~= 1 or dil[spatial] ~= 1 then attrs[#attrs + 1] = A.ints("dilations", dil) end
  if g ~= 1 or rng:chance(0.5) then attrs[#attrs + 1] = A.i("group", g) end
  local inputs = {x, w}
  if rng:chance(0.8) then inputs[3] = b:randn("conv.bias", {cout}, 0.1) end
  local shape = {1, cout}
  for a = 1, spatial do shape[#shape + 1] = outs[a] end
  return b:op("Conv", inputs, attrs, shape)
end

--- ConvTranspose on [1, C, H, W] (or [1, C, L]).
local function convt(b, x, cout)
  local s = b.shapes[x]
  local c, spatial = s[2], #s - 2
  local g = rng:pick(divisors(c))
  if cout % g ~= 0 then cout = g * math.max(1, cout // g) end
  local ks, strides, dil, pads, opad, outs = {}, {}, {}, {}, {}, {}
  for a = 1, spatial do
    ks[a] = rng:range(1, 4)
    strides[a] = rng:range(1, 3)
    dil[a] = rng:chance(0.8) and 1 or 2
    opad[a] = rng:range(0, math.max(strides[a], dil[a]) - 1)
    if rng:chance(0.5) then opad[a] = 0 end
  end
  for a = 1, spatial do
    pads[a], pads[a + spatial] = rng:range(0, ks[a] - 1), rng:range(0, ks[a] - 1)
    outs[a] = out_convt(s[2 + a], ks[a], strides[a], dil[a], pads[a], pads[a + spatial], opad[a])
    if outs[a] < 1 then
      pads[a], pads[a + spatial] = 0, 0
      outs[a] = out_convt(s[2 + a], ks[a], strides[a], dil[a], 0, 0, opad[a])
    end
  end
  local wdims = {c, cout // g}
  for a = 1, spatial do wdims[#wdims + 1] = ks[a] end
  local w = b:randn("convt.weight", wdims, 0.5)
  local attrs = {}
  if rng:chance(0.7) then attrs[#attrs + 1] = A.ints("kernel_shape", ks) end
  attrs[#attrs + 1] = A.ints("pads", pads)
  attrs[#attrs + 1] = A.ints("strides", strides)
  if rng:chance(0.5) or dil[1] ~= 1 or dil[spatial] ~= 1 then attrs[#attrs + 1] = A.ints("dilations", dil) end
  local any_opad = false
  for a = 1, spatial do any_opad = any_opad or opad[a] ~= 0 end
  if any_opad or rng:chance(0.4) then attrs[#attrs + 1] = A.ints("output_padding", opad) end
  if g ~= 1 or rng:chance(0.5) then attrs[#attrs + 1] = A.i("group", g) end
  if rng:chance(0.15) then
    -- The same output through output_shape (the spatial entries; sometimes with N and C).
    local os = {}
    for a = 1, spatial do os[a] = outs[a] end
    if rng:chance(0.3) then os = append({1, cout}, os) end
    for i = #attrs, 1, -1 do if attrs[i].name == "pads" then table.remove(attrs, i) end end
    attrs[#attrs + 1] = A.ints("output_shape", os)
  end
  local inputs = {x, w}
  if rng:chance(0.8) then inputs[3] = b:randn("convt.bias", {cout}, 0.1) end
  local shape = {1, cout}
  for a = 1, spatial do shape[#shape + 1] = outs[a] end
  return b:op("ConvTranspose", inputs, attrs, shape)
end

local function batchnorm(b, x)
  local c = b.shapes[x][2]
  local attrs = {}
  if rng:chance(0.7) then attrs[1] = A.f("epsilon", rng:pick({1e-5, 1e-3, 0.0})) end
  if rng:chance(0.3) then attrs[#attrs + 1] = A.f("momentum", 0.9) end
  return b:op("BatchNormalization", {x, b:randn("bn.scale", {c}, 0.5), b:randn("bn.bias", {c}, 0.1),
    b:randn("bn.mean", {c}, 0.1), b:positive("bn.var", {c})}, attrs, b.shapes[x])
end

local function norm(b, x)
  local s = b.shapes[x]
  local c = s[2]
  local choices = {"Instance", "Batch"}
  if b.opset >= 17 then choices[#choices + 1] = "Layer" end
  if b.opset >= 18 then choices[#choices + 1] = "Group" end
  local kind = rng:pick(choices)
  if kind == "Batch" then return batchnorm(b, x) end
  local eps = rng:chance(0.6) and {A.f("epsilon", rng:pick({1e-5, 1e-6}))} or {}
  if kind == "Instance" then
    return b:op("InstanceNormalization", {x, b:fill("in.scale", {c}, 1.0), b:randn("in.bias", {c}, 0.1)}, eps, s)
  elseif kind == "Group" then
    local groups = rng:pick(divisors(c))
    local per = b.opset >= 21 and c or groups
    local attrs = append({A.i("num_groups", groups)}, eps)
    return b:op("GroupNormalization", {x, b:randn("gn.scale", {per}, 0.5), b:randn("gn.bias", {per}, 0.1)}, attrs, s)
  else
    local axis = rng:pick({-1, #s - 1, 1, 2})
    local ax = axis < 0 and #s + axis or axis
    local tail = {}
    for i = ax + 1, #s do tail[#tail + 1] = s[i] end
    local attrs = append({A.i("axis", axis)}, eps)
    local inputs = {x, b:randn("ln.scale", tail, 0.5)}
    if rng:chance(0.8) then inputs[3] = b:randn("ln.bias", tail, 0.1) end
    return b:op("LayerNormalization", inputs, attrs, s)
  end
end

--- Resize [1, C, H, W] by scales or sizes.
local function resize(b, x)
  local s = b.shapes[x]
  local mode = rng:pick({"nearest", "nearest", "linear"})
  local attrs = {A.s("mode", mode)}
  local ctm = rng:pick({"asymmetric", "half_pixel", "pytorch_half_pixel", "align_corners", nil})
  if ctm then attrs[#attrs + 1] = A.s("coordinate_transformation_mode", ctm) end
  if mode == "nearest" and rng:chance(0.6) then attrs[#attrs + 1] = A.s("nearest_mode", rng:pick({"floor", "round_prefer_floor", "ceil", "round_prefer_ceil"})) end
  local out = copy(s)
  local inputs
  local roi = rng:chance(0.5) and "" or b:weight("roi", {0}, {}, FLOAT)
  if rng:chance(0.65) then
    local sc = {1, 1}
    for a = 3, #s do
      local f = rng:pick({2, 2, 1, 0.5, 1.5, 3})
      if math.floor(f * s[a]) < 1 then f = 1 end
      sc[a] = f
      out[a] = math.floor(f * s[a])
    end
    if b.opset >= 18 and rng:chance(0.3) then
      attrs[#attrs + 1] = A.ints("axes", {2, 3})
      sc = {sc[3], sc[4]}
    end
    inputs = {x, roi, b:weight("scales", {#sc}, sc, FLOAT)}
  else
    local sizes = copy(s)
    for a = 3, #s do sizes[a] = rng:range(1, math.min(12, 3 * s[a])) end
    out = sizes
    inputs = {x, roi, "", b:ints("sizes", sizes)}
  end
  return b:op("Resize", inputs, attrs, out)
end

--- A residual block on [1, C, H, W]: x + f(x), or a gated/concatenated variant.
local function residual(b, x)
  local s = b.shapes[x]
  local c = s[2]
  local y = conv(b, x, c, {same = true, stride = 1, k = rng:pick({1, 3}), dil = 1})
  y = norm(b, y)
  y = act(b, y)
  y = conv(b, y, c, {same = true, stride = 1, k = rng:pick({1, 3}), dil = 1})
  local r = rng:int(6)
  if r <= 2 then
    return b:op("Add", rng:chance(0.5) and {x, y} or {y, x}, {}, s)
  elseif r == 3 then
    return b:op("Sum", {x, y}, {}, s)
  elseif r == 4 then
    local cat = b:op("Concat", {x, y}, {A.i("axis", rng:pick({1, -3}))}, {1, 2 * c, s[3], s[4]})
    return conv(b, cat, c, {same = true, stride = 1, k = 1, dil = 1, group = 1})
  elseif r == 5 then
    return b:op("Mul", {x, b:op("Sigmoid", {y}, {}, s)}, {}, s)
  else
    local gt = b:op("Greater", {y, b:scalar("thr", rng:pick({0.0, 20.0, -0.5}))}, {}, s)
    local scaled = b:op("Mul", {y, b:scalar("k", 0.2)}, {}, s)
    return b:op("Where", {gt, y, scaled}, {}, s)
  end
end

--- Self-attention over the spatial positions of [1, C, H, W] (small H*W).
local function attention(b, x)
  local s = b.shapes[x]
  local c, hw = s[2], s[3] * s[4]
  local flat = reshape(b, x, {1, c, hw})
  local q = b:op("Transpose", {flat}, {A.ints("perm", {0, 2, 1})}, {1, hw, c})
  local scores = b:op("MatMul", {q, flat}, {}, {1, hw, hw})
  scores = b:op("Mul", {scores, b:scalar("scale", 1 / math.sqrt(c))}, {}, {1, hw, hw})
  local attn = b:op(rng:chance(0.85) and "Softmax" or "LogSoftmax", {scores}, {A.i("axis", rng:pick({-1, 2}))}, {1, hw, hw})
  local at = b:op("Transpose", {attn}, {A.ints("perm", {0, 2, 1})}, {1, hw, hw})
  local o = b:op("MatMul", {flat, at}, {}, {1, c, hw})
  o = reshape(b, o, {1, c, s[3], s[4]})
  return b:op("Add", {x, o}, {}, s)
end

--- Some shape ops on [1, C, H, W] that keep it valid: Transpose, Slice, Pad, Split+Concat,
--- Expand+ReduceMean, ConstantOfShape/Range constants, Flatten, Squeeze/Unsqueeze, Gather.
local function shape_op(b, x)
  local s = b.shapes[x]
  local r = rng:int(10)
  if r == 1 then
    return b:op("Transpose", {x}, {A.ints("perm", {0, 1, 3, 2})}, {s[1], s[2], s[4], s[3]})
  elseif r == 2 and s[4] >= 2 then
    local out = {s[1], s[2], s[3], (s[4] - 1) // 2 + 1}
    local inputs = {x, b:ints("starts", {0}), b:ints("ends", {rng:pick({MAXI, s[4], -1 + s[4] + 1})}), b:ints("axes", {3})}
    if rng:chance(0.7) then inputs[5] = b:ints("steps", {2}) else out[4] = s[4] end
    return b:op("Slice", inputs, {}, out)
  elseif r == 3 and b.opset >= 13 then
    local mode = rng:pick({"constant", "edge", "reflect"})
    if mode == "reflect" and (s[3] < 2 or s[4] < 2) then mode = "edge" end
    local p = {0, 0, 1, 1, 0, 0, 1, 1}
    local inputs = {x, b:ints("pads", p)}
    if mode == "constant" and rng:chance(0.5) then inputs[3] = b:scalar("value", 0.5) end
    return b:op("Pad", inputs, {A.s("mode", mode)}, {s[1], s[2], s[3] + 2, s[4] + 2})
  elseif r == 4 and s[2] >= 2 and b.opset >= 13 then
    local c1 = s[2] // 2
    local parts = {c1, s[2] - c1}
    local n1, n2 = b:fresh("split"), b:fresh("split")
    b.node[#b.node + 1] = {input = {x, b:ints("split", parts)}, output = {n1, n2}, name = b:fresh("/Split"), op_type = "Split",
                           attribute = {A.i("axis", 1)}}
    b.shapes[n1] = {1, parts[1], s[3], s[4]}
    b.shapes[n2] = {1, parts[2], s[3], s[4]}
    return b:op("Concat", {n2, n1}, {A.i("axis", 1)}, s)
  elseif r == 5 and b.opset >= 18 then
    local e = b:op("Expand", {x, b:ints("shape", {2, 1, 1, 1})}, {}, {2, s[2], s[3], s[4]})
    return b:op("ReduceMean", {e, b:ints("axes", {0})}, {A.i("keepdims", 1)}, s)
  elseif r == 6 then
    local cs = b:op("ConstantOfShape", {b:ints("shape", s)}, rng:chance(0.5) and {A.t("value", tensor(nil, {1}, {0.25}, FLOAT, "raw"))} or {}, s)
    return b:op("Add", {x, cs}, {}, s)
  elseif r == 7 then
    local n = s[4]
    local rg = b:op("Range", {b:scalar("start", 0), b:scalar("limit", n), b:scalar("delta", 1)}, {}, {n})
    -- Range of float scalars: every scalar must be 0-d.
    for _, nm in ipairs(b.node[#b.node].input) do
      for _, t in ipairs(b.initializer) do if t.name == nm then t.dims = {} end end
      for _, nd in ipairs(b.node) do
        if nd.output[1] == nm and nd.op_type == "Constant" and nd.attribute[1].t then nd.attribute[1].t.dims = {} end
      end
    end
    return b:op("Mul", {x, rg}, {}, s)
  elseif r == 8 then
    local f = b:op("Flatten", {x}, {A.i("axis", 1)}, {1, count(s) // s[1]})
    return reshape(b, f, s)
  elseif r == 9 and b.opset >= 13 then
    local sq = b:op("Squeeze", {x, b:ints("axes", {0})}, {}, {s[2], s[3], s[4]})
    return b:op("Unsqueeze", {sq, b:ints("axes", {0})}, {}, s)
  elseif r == 10 and s[2] >= 1 then
    local idx = {}
    for i = s[2], 1, -1 do idx[#idx + 1] = i - 1 end
    return b:op("Gather", {x, b:ints("indices", idx)}, {A.i("axis", 1)}, s)
  end
  return act(b, x)
end

------------------------------------------------------------------------------------------------
-- Base models: valid files (and consistent-but-huge ones).

local BASES = {}

BASES.mlp = function()
  local b = builder()
  local d = rng:range(1, 4)
  local z = b:latent(d)
  local x = z
  for _ = 1, rng:range(0, 3) do
    x = linear(b, x, rng:range(1, 16))
    x = act(b, x)
  end
  local D = rng:range(1, 64)
  x = linear(b, x, D)
  if rng:chance(0.5) then x = b:op(rng:pick({"Sigmoid", "Tanh"}), {x}, {}, b.shapes[x]) end
  if rng:chance(0.3) and D % 4 == 0 then x = reshape(b, x, {1, 1, 4, D // 4}) end
  return b:model(z, x), {latent = d, shape = b.shapes[x]}
end

local function small(s) return count(s) <= 4096 end

BASES.conv = function()
  local b = builder()
  local d = rng:range(1, 4)
  local z = b:latent(d)
  local c, h, w = rng:range(1, 4), rng:range(1, 4), rng:range(1, 4)
  local x = linear(b, z, c * h * w)
  if rng:chance(0.35) then x = legacy_reshape(b, x, {1, c, h, w}) else x = reshape(b, x, {1, c, h, w}) end
  local one_d = rng:chance(0.1)
  if one_d then x = reshape(b, x, {1, c, h * w}) end
  for _ = 1, rng:range(1, 4) do
    local r = rng:int(7)
    local y
    if r <= 2 then y = convt(b, x, rng:range(1, 4))
    elseif r == 3 then y = conv(b, x, rng:range(1, 4))
    elseif r == 4 then y = batchnorm(b, x)
    elseif r == 5 and not one_d then y = resize(b, x)
    elseif r == 6 and not one_d then y = norm(b, x)
    else y = act(b, x) end
    if y and small(b.shapes[y]) then x = y end
    x = act(b, x)
  end
  if rng:chance(0.3) then
    local s = b.shapes[x]
    if rng:chance(0.5) then x = b:op("Flatten", {x}, {}, {1, count(s)}) else x = legacy_reshape(b, x, {1, count(s)}) end
  end
  return b:model(z, x), {latent = d, shape = b.shapes[x]}
end

BASES.resblock = function()
  local b = builder()
  local d = rng:range(1, 4)
  local z = b:latent(d)
  local c, h = rng:range(1, 4), rng:range(1, 4)
  local x = reshape(b, linear(b, z, c * h * h), {1, c, h, h})
  for _ = 1, rng:range(1, 3) do
    local r = rng:int(5)
    if r <= 3 then x = residual(b, x)
    elseif r == 4 then
      local y = convt(b, x, rng:range(1, 4))
      if small(b.shapes[y]) and #b.shapes[y] == 4 then x = y end
    else x = shape_op(b, x) end
  end
  if rng:chance(0.5) then x = b:op(rng:pick({"Sigmoid", "Tanh"}), {x}, {}, b.shapes[x]) end
  return b:model(z, x), {latent = d, shape = b.shapes[x]}
end

BASES.attention = function()
  local b = builder()
  local d = rng:range(1, 4)
  local z = b:latent(d)
  local c, h = rng:range(1, 4), rng:range(1, 4)
  local x = reshape(b, linear(b, z, c * h * h), {1, c, h, h})
  x = attention(b, x)
  if rng:chance(0.5) then x = residual(b, x) end
  if rng:chance(0.5) then x = norm(b, x) end
  return b:model(z, x), {latent = d, shape = b.shapes[x]}
end

BASES.shapes = function()
  local b = builder()
  local d = rng:range(1, 4)
  local z = b:latent(d)
  local c, h, w = rng:range(1, 3), rng:range(1, 4), rng:range(1, 4)
  local x = legacy_reshape(b, linear(b, z, c * h * w), {1, c, h, w})
  for _ = 1, rng:range(1, 4) do x = shape_op(b, x) end
  return b:model(z, x), {latent = d, shape = b.shapes[x]}
end

-- Consistent graphs with huge outputs or many nodes.
BASES.huge_resize = function()
  local b = builder(rng:pick({13, 18, 20}))
  b.store_w = {1, 0, 0}
  local z = b:latent(2)
  local x = reshape(b, linear(b, z, 4), {1, 1, 2, 2})
  local f = rng:pick({1000, 2000, 3000, 4096, 5000, 10000, 1e5})
  local out = {1, 1, math.floor(2 * f), math.floor(2 * f)}
  local inputs
  if rng:chance(0.5) then inputs = {x, "", b:weight("scales", {4}, {1, 1, f, f}, FLOAT)}
  else inputs = {x, "", "", b:ints("sizes", out)} end
  x = b:op("Resize", inputs, {A.s("mode", rng:pick({"nearest", "linear"}))}, out)
  if rng:chance(0.3) then x = b:op("Sigmoid", {x}, {}, out) end
  return b:model(z, x), {latent = 2, shape = out}
end

BASES.huge_convt = function()
  local b = builder()
  b.store_w = {1, 0, 0}
  local z = b:latent(2)
  local x = reshape(b, linear(b, z, 4), {1, 1, 2, 2})
  local st = rng:pick({{1000, 1000}, {2698, 15002}, {65536, 1000}, {65536, 65536}, {4000, 4000}, {8192, 8192}})
  local w = b:fill("k", {1, 1, 2, 2}, 0.5)
  local out = {1, 1, st[1] + 2, st[2] + 2}
  x = b:op("ConvTranspose", {x, w}, {A.ints("strides", st), A.ints("kernel_shape", {2, 2})}, out)
  return b:model(z, x), {latent = 2, shape = out}
end

BASES.many_nodes = function()
  local b = builder()
  b.vinfo = false
  local z = b:latent(2)
  local x = linear(b, z, 4)
  local n = rng:pick({1000, 3000, 10000, 30000})
  local ops = rng:pick({{"Relu"}, {"Identity"}, {"Tanh", "Softsign"}, {"Add"}, {"Neg"}})
  for i = 1, n do
    local op = ops[(i - 1) % #ops + 1]
    if op == "Add" then x = b:op("Add", {x, x}, {}, {1, 4})
    else x = b:op(op, {x}, {}, {1, 4}) end
  end
  return b:model(z, x), {latent = 2, shape = {1, 4}}
end

BASES.wide_concat = function()
  local b = builder()
  local z = b:latent(2)
  local x = linear(b, z, 4)
  local n = rng:pick({1000, 5000, 20000})
  local inputs = {}
  for i = 1, n do inputs[i] = x end
  x = b:op("Concat", inputs, {A.i("axis", 1)}, {1, 4 * n})
  return b:model(z, x), {latent = 2, shape = {1, 4 * n}}
end

-- The shipped fixtures: decoded (for graph mutations) or as bytes (for byte mutations).
local FIXTURE_NAMES = {"mlp", "mlp_external", "mlp_legacy", "dcgan", "dcgan_legacy", "vae_ln_gelu", "vae_ln_gelu_legacy",
  "vae_ln_gelu_opset18", "upsample_conv", "upsample_conv_legacy", "resblock_groupnorm", "resblock_groupnorm_legacy",
  "dropout_skip_tanh", "dropout_skip_tanh_legacy", "dropout_skip_tanh_opset18", "attention", "attention_legacy",
  "attention_sdpa", "attention_sdpa_legacy"}
local FIXTURES_LOADED = nil
local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
local function fixtures()
  if FIXTURES_LOADED then return FIXTURES_LOADED end
  FIXTURES_LOADED = {}
  for _, name in ipairs(FIXTURE_NAMES) do
    local bytes = read_all(FIXTURES .. "/" .. name .. ".onnx")
    if bytes then
      local data = read_all(FIXTURES .. "/" .. name .. ".onnx.data")
      FIXTURES_LOADED[#FIXTURES_LOADED + 1] = {name = name, bytes = bytes, data = data}
      -- The external data file under its own name, for the unrenamed copies.
      if data then lib.write_file(DIR .. "/" .. name .. ".onnx.data", data) end
    end
  end
  return FIXTURES_LOADED
end

--- Every tensor of a model table (initializers and Constant values, nested graphs included).
local function all_tensors(m)
  local out = {}
  local function graph(g, depth)
    if type(g) ~= "table" or depth > 20 then return end
    for _, t in ipairs(g.initializer or {}) do out[#out + 1] = t end
    for _, n in ipairs(g.node or {}) do
      for _, a in ipairs(n.attribute or {}) do
        if a.t then out[#out + 1] = a.t end
        for _, t in ipairs(a.tensors or {}) do out[#out + 1] = t end
        if a.g then graph(a.g, depth + 1) end
      end
    end
  end
  graph(m.graph, 0)
  return out
end

BASES.fixture = function()
  local list = fixtures()
  if #list == 0 then return BASES.mlp() end
  local fx = rng:pick(list)
  local m = P.decode(fx.bytes, "Model")
  -- External data: renamed to this file's data file (its content copied), or left pointing at
  -- the fixture's own data file (written once into DIR).
  if fx.data and rng:chance(0.6) then
    for _, t in ipairs(all_tensors(m)) do
      for _, e in ipairs(t.external_data or {}) do
        if e.key == "location" then e.value = CUR.ext_name end
      end
    end
    CUR.ext[#CUR.ext + 1] = fx.data
    CUR.ext_size = #fx.data
    CUR.has_external = true
  end
  CUR.fixture = fx
  local out = m.graph and m.graph.output and m.graph.output[1]
  local shape
  if out and out.type and out.type.tensor_type and out.type.tensor_type.shape then
    shape = {}
    for _, dm in ipairs(out.type.tensor_type.shape.dim or {}) do shape[#shape + 1] = dm.dim_value or 1 end
  end
  local d = 1
  local inp = m.graph and m.graph.input and m.graph.input[1]
  if inp and inp.type and inp.type.tensor_type and inp.type.tensor_type.shape then
    local dims = inp.type.tensor_type.shape.dim or {}
    d = 1
    for i = 2, #dims do d = d * (dims[i].dim_value or 1) end
  end
  return m, {latent = d, shape = shape, fixture = fx.name}
end

local BASE_NAMES = {"mlp", "conv", "resblock", "attention", "shapes", "fixture", "huge_resize", "huge_convt", "many_nodes", "wide_concat"}
local BASE_WEIGHTS = {18, 22, 14, 6, 10, 20, 2, 2, 2, 1}

------------------------------------------------------------------------------------------------
-- Helpers for mutations of a model table.

local function graph_of(m)
  m.graph = m.graph or {}
  local g = m.graph
  g.node = g.node or {}
  g.initializer = g.initializer or {}
  g.input = g.input or {}
  g.output = g.output or {}
  return g
end
local function any_node(m, pred)
  local g = graph_of(m)
  local c = {}
  for _, n in ipairs(g.node) do if not pred or pred(n) then c[#c + 1] = n end end
  if #c == 0 then return nil end
  return rng:pick(c)
end
local function is_op(...)
  local set = {}
  for _, o in ipairs({...}) do set[o] = true end
  return function(n) return set[n.op_type] end
end
local function any_tensor(m, pred)
  local c = {}
  for _, t in ipairs(all_tensors(m)) do if not pred or pred(t) then c[#c + 1] = t end end
  if #c == 0 then return nil end
  return rng:pick(c)
end
local function output_name(m)
  local g = graph_of(m)
  return g.output[1] and g.output[1].name
end
local NEWN = 0
local function newname(prefix) NEWN = NEWN + 1; return string.format("fz_%s_%d", prefix, NEWN) end
local function add_init(m, t)
  t.name = t.name or newname("c")
  local g = graph_of(m)
  g.initializer[#g.initializer + 1] = t
  return t.name
end
local function int_const(m, list, scalar)
  return add_init(m, tensor(nil, scalar and {} or {#list}, list, INT64, rng:chance(0.8) and "raw" or "typed"))
end
local function float_const(m, list, dims)
  return add_init(m, tensor(nil, dims or {#list}, list, FLOAT, "raw"))
end

--- Appends a node that reads the graph output (and `extra` inputs) and makes its output the
--- graph's output (its declared shape dropped: it is the point of the mutation).
local function tail(m, op, extra, attrs, domain)
  local g = graph_of(m)
  local out = g.output[1]
  if not out then return nil end
  local y = newname(op:lower())
  g.node[#g.node + 1] = {input = append({out.name}, extra or {}), output = {y}, name = newname(op), op_type = op,
                         attribute = attrs or {}, domain = domain}
  out.name = y
  if out.type and out.type.tensor_type and rng:chance(0.8) then out.type.tensor_type.shape = nil end
  return y
end
--- Adds a node computing a constant value from `inputs`; returns its output name.
local function side(m, op, inputs, attrs)
  local g = graph_of(m)
  local y = newname(op:lower())
  g.node[#g.node + 1] = {input = inputs, output = {y}, name = newname(op), op_type = op, attribute = attrs or {}}
  return y
end
--- Adds `c` (a constant's name, any shape) to the graph's output through ReduceSum(keepdims=0).
local function add_to_output(m, c)
  local r = rng:chance(0.8) and side(m, "ReduceSum", {c}, {A.i("keepdims", 0)}) or c
  return tail(m, "Add", {r})
end

------------------------------------------------------------------------------------------------
-- Graph and tensor mutations (on the model table).

local STRUCT = {}

STRUCT.op_unknown = function(m)
  local n = any_node(m)
  if not n then return end
  n.op_type = rng:pick({"Foo", "", "relu", "MatMul(values)", "Loop", "If", "Scan", "LSTM", "Einsum", "Conv3D", "QLinearConv",
                        "ScatterND", "NonZero", "TopK", long_name(10000), BAD_UTF8, ESC, "Relu\0", "Tile", "Upsample"})
end
STRUCT.op_domain = function(m)
  local n = any_node(m)
  if not n then return end
  n.domain = rng:pick({"com.microsoft", "ai.onnx.ml", "ai.onnx", "", "pkg.onnxscript.torch_lib", long_name(5000), BAD_UTF8, "\0"})
end
STRUCT.op_swap = function(m)
  -- Another supported op in the node's place (its inputs and attributes kept).
  local n = any_node(m)
  if not n then return end
  n.op_type = rng:pick({"Abs", "Add", "BatchNormalization", "Cast", "Celu", "Clip", "Concat", "Constant", "ConstantOfShape",
    "Conv", "ConvTranspose", "Div", "Dropout", "Elu", "Erf", "Exp", "Expand", "Flatten", "Gather", "Gelu", "Gemm",
    "GroupNormalization", "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "LayerNormalization", "LeakyRelu",
    "Log", "LogSoftmax", "MatMul", "Mish", "Mod", "Mul", "Neg", "PRelu", "Pad", "Pow", "Range", "Reciprocal", "ReduceMax",
    "ReduceMean", "ReduceMin", "ReduceSum", "Relu", "Reshape", "Resize", "Selu", "Shape", "Sigmoid", "Size", "Slice",
    "Softmax", "Softplus", "Softsign", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "Transpose", "Unsqueeze",
    "Upsample", "Where", "Greater", "Less", "Equal", "Not", "And", "Or", "Xor", "GreaterOrEqual", "LessOrEqual"})
end
STRUCT.input_missing = function(m)
  local n = any_node(m, function(x) return x.input and #x.input > 0 end)
  if not n then return end
  local r = rng:int(3)
  if r == 1 then table.remove(n.input, rng:int(#n.input))
  elseif r == 2 then n.input[rng:int(#n.input)] = ""
  else n.input = {} end
end
STRUCT.input_extra = function(m)
  local n = any_node(m)
  if not n then return end
  n.input = n.input or {}
  local g = graph_of(m)
  for _ = 1, rng:pick({1, 1, 2, 10, 1000}) do
    local src = rng:pick({"ghost", "", (g.input[1] or {}).name or "z", (g.initializer[1] or {}).name or "w", output_name(m) or "y"})
    n.input[#n.input + 1] = src
  end
end
STRUCT.output_extra = function(m)
  local n = any_node(m)
  if not n then return end
  n.output = n.output or {}
  local r = rng:int(4)
  if r == 1 then n.output = {}
  elseif r == 2 then n.output[#n.output + 1] = newname("extra")
  elseif r == 3 then n.output[1] = ""
  else n.output = {newname("a"), newname("b"), newname("c")} end
end
STRUCT.cycle = function(m)
  local g = graph_of(m)
  if #g.node < 1 then return end
  local i = rng:int(#g.node)
  local j = rng:range(i, #g.node)
  local ni, nj = g.node[i], g.node[j]
  if not nj.output or not nj.output[1] then return end
  ni.input = ni.input or {}
  if #ni.input == 0 then ni.input[1] = nj.output[1] else ni.input[rng:int(#ni.input)] = nj.output[1] end
end
STRUCT.produced_twice = function(m)
  local g = graph_of(m)
  if #g.node < 2 then return end
  local a, b = g.node[rng:int(#g.node)], g.node[rng:int(#g.node)]
  if not a.output or not a.output[1] then return end
  b.output = b.output or {}
  if rng:chance(0.5) and b.output[1] then b.output[1] = a.output[1] else b.output[#b.output + 1] = a.output[1] end
end
STRUCT.init_shadows = function(m)
  -- An initializer named like a node output, the graph input or another initializer.
  local g = graph_of(m)
  local name = rng:pick({output_name(m) or "y", (g.input[1] or {}).name or "z", (g.initializer[1] or {}).name or "w",
                         (g.node[1] and g.node[1].output and g.node[1].output[1]) or "q"})
  g.initializer[#g.initializer + 1] = tensor(name, {1}, {1}, FLOAT, "raw")
end
STRUCT.dangling = function(m)
  local n = any_node(m, function(x) return x.input and #x.input > 0 end)
  if not n then return end
  n.input[rng:int(#n.input)] = rng:pick({"ghost", weird_name(), "onnx::ghost_99"})
end
STRUCT.output_odd = function(m)
  local g = graph_of(m)
  local r = rng:int(8)
  if r == 1 then g.output = {}
  elseif r == 2 then g.output[#g.output + 1] = value_info(newname("never"), {1, 1})
  elseif r == 3 and g.output[1] then g.output[1].name = "never_produced"
  elseif r == 4 and g.output[1] and g.input[1] then g.output[1].name = g.input[1].name
  elseif r == 5 and g.output[1] and g.initializer[1] then g.output[1].name = g.initializer[1].name
  elseif r == 6 and g.output[1] then g.output[1].type = {tensor_type = {elem_type = FLOAT, shape = {dim = {{dim_value = 1}, {dim_value = 99999}}}}}
  elseif r == 7 and g.output[1] then g.output[#g.output + 1] = copy(g.output[1])
  elseif g.output[1] then g.output[1].type = {sequence_type = {elem_type = {tensor_type = {elem_type = FLOAT}}}} end
end
STRUCT.input_odd = function(m)
  local g = graph_of(m)
  local inp = g.input[1]
  local r = rng:int(10)
  if r == 1 then table.remove(g.input, 1)
  elseif r == 2 then g.input[#g.input + 1] = value_info(newname("second"), {1, 2})
  elseif r == 3 and inp then inp.type = {tensor_type = {elem_type = rng:pick({0, INT64, P.STRING, BOOL, 99, -1, FLOAT16, DOUBLE}),
                                                         shape = inp.type and inp.type.tensor_type and inp.type.tensor_type.shape}}
  elseif r == 4 and inp then inp.type = nil
  elseif r == 5 and inp then inp.type = {sequence_type = {elem_type = {tensor_type = {elem_type = FLOAT}}}}
  elseif r == 6 and inp then inp.type = {tensor_type = {elem_type = FLOAT, shape = {dim = {}}}}
  elseif r == 7 and inp then
    local dims = {}
    for i = 1, rng:pick({1, 2, 3, 10, 100}) do dims[i] = {dim_value = rng:pick({1, 2, 1, 3})} end
    inp.type = {tensor_type = {elem_type = FLOAT, shape = {dim = dims}}}
  elseif inp then
    -- Odd dims: a dim_param or a zero/negative/huge value somewhere.
    local tt = inp.type and inp.type.tensor_type
    local dims = tt and tt.shape and tt.shape.dim
    if not dims or #dims == 0 then return end
    local dm = dims[rng:int(#dims)]
    if rng:chance(0.4) then dm.dim_value = nil; dm.dim_param = rng:pick({"N", "", "batch", long_name(1000)})
    else dm.dim_param = nil; dm.dim_value = rng:pick({0, -1, -2^62, 2^31, 2^40, 2^62, MAXI, 1e9, 65536}) end
    if rng:chance(0.2) then dm.dim_value = 3; dm.dim_param = "both" end
  end
end
STRUCT.value_info_odd = function(m)
  local g = graph_of(m)
  g.value_info = g.value_info or {}
  for _ = 1, rng:range(1, 5) do
    local n = any_node(m)
    local name = n and n.output and n.output[1] or "x"
    g.value_info[#g.value_info + 1] = value_info(name, rng:pick({{0}, {-1, 5}, {2^62, 2^62}, {1, 2, 3}, {}}), rng:pick({FLOAT, 0, 99}))
  end
end
STRUCT.node_remove = function(m)
  local g = graph_of(m)
  if #g.node > 0 then table.remove(g.node, rng:int(#g.node)) end
end
STRUCT.node_dup = function(m)
  local g = graph_of(m)
  if #g.node > 0 then
    local i = rng:int(#g.node)
    table.insert(g.node, i, g.node[i])
  end
end
STRUCT.node_order = function(m)
  -- Reversed or shuffled: valid (the importer sorts the nodes).
  local g = graph_of(m)
  if rng:chance(0.5) then
    local r = {}
    for i = #g.node, 1, -1 do r[#r + 1] = g.node[i] end
    g.node = r
  else
    for i = #g.node, 2, -1 do
      local j = rng:int(i)
      g.node[i], g.node[j] = g.node[j], g.node[i]
    end
  end
end
STRUCT.names_odd = function(m)
  -- Long, escaped, invalid UTF-8 node and value names (renamed consistently).
  local g = graph_of(m)
  local n = any_node(m)
  if n and rng:chance(0.5) then n.name = weird_name() return end
  if not n or not n.output or not n.output[1] or n.output[1] == "" then return end
  local old, new = n.output[1], weird_name() .. newname("v")
  for _, x in ipairs(g.node) do
    for i, s in ipairs(x.input or {}) do if s == old then x.input[i] = new end end
    for i, s in ipairs(x.output or {}) do if s == old then x.output[i] = new end end
  end
  for _, o in ipairs(g.output) do if o.name == old then o.name = new end end
end
STRUCT.opset = function(m)
  local r = rng:int(6)
  local v = rng:pick({0, 1, 6, 7, 9, 10, 11, 12, 13, 18, 21, 22, 999, -1, 2^62, MAXI})
  if r == 1 then m.opset_import = {}
  elseif r == 2 then m.opset_import = {{domain = "", version = 17}, {domain = "", version = v}}
  elseif r == 3 then m.opset_import = {{domain = rng:pick({"ai.onnx.ml", "com.microsoft", "x"}), version = v}}
  elseif r == 4 then m.opset_import = {{version = v}}
  else m.opset_import = {{domain = "", version = v}} end
  if rng:chance(0.2) then m.ir_version = rng:pick({0, 1, 3, 4, 11, 99, -1, MAXI}) end
end
STRUCT.no_graph = function(m)
  if rng:chance(0.5) then m.graph = nil else m.graph = {} end
end
STRUCT.extras = function(m)
  -- Fields georepl does not read: functions, sparse initializers, training info, metadata.
  local g = graph_of(m)
  local r = rng:int(5)
  if r == 1 then
    m.functions = {{name = "MyFn", domain = "local", input = {"x"}, output = {"y"},
                    node = {{input = {"x"}, output = {"y"}, op_type = "Relu"}}, opset_import = {{domain = "", version = 17}}}}
    local n = any_node(m)
    if n then n.op_type = "MyFn"; n.domain = "local" end
  elseif r == 2 then
    g.sparse_initializer = {{values = tensor("sp", {2}, {1, 2}, FLOAT, "raw"), indices = tensor("spi", {2}, {0, 3}, INT64, "raw"), dims = {4}}}
    local n = any_node(m, function(x) return x.input and #x.input > 0 end)
    if n and rng:chance(0.5) then n.input[rng:int(#n.input)] = "sp" end
  elseif r == 3 then
    m.training_info = {{initialization = {name = "init", node = {}}, algorithm = {name = "algo"}}}
  elseif r == 4 then
    m.metadata_props = {{key = long_name(1000), value = BAD_UTF8}, {key = "", value = ""}}
    m.doc_string = long_name(100000)
  else
    g.quantization_annotation = {{tensor_name = "x", quant_parameter_tensor_names = {{key = "SCALE_TENSOR", value = "nope"}}}}
  end
end

-- Attributes.
local BAD_ATTRS = {
  strides = function() return A.ints("strides", rng:pick({{0, 0}, {-1, 1}, {2^62, 1}, {65537, 1}, {1}, {MAXI, MAXI}, {1, 1, 1}})) end,
  dilations = function() return A.ints("dilations", rng:pick({{0, 1}, {-2, 1}, {2^40, 2^40}, {65536, 65536}, {}})) end,
  pads = function() return A.ints("pads", rng:pick({{-1, 0, 0, 0}, {1e6, 1e6, 1e6, 1e6}, {2^62, 0, 2^62, 0}, {1, 1}, {65536, 65536, 65536, 65536},
                                                     {-65536, -65536, 0, 0}, {MINI, 0, 0, 0}, {5, 5, 5, 5}})) end,
  group = function() return A.i("group", rng:pick({0, -1, 3, 7, 2^31, 1e9, MAXI, 5})) end,
  kernel_shape = function() return A.ints("kernel_shape", rng:pick({{9, 9}, {}, {0, 0}, {1}, {-1, -1}})) end,
  auto_pad = function() return A.s("auto_pad", rng:pick({"SAME_UPPER", "SAME_LOWER", "VALID", "bogus", ""})) end,
  output_padding = function() return A.ints("output_padding", rng:pick({{5, 5}, {-1, 0}, {2^62, 0}, {65536, 65536}, {1}})) end,
  output_shape = function() return A.ints("output_shape", rng:pick({{1, 1}, {1e9, 1e9}, {0, 0}, {-5, 3}, {1, 1, 1, 1, 1, 1}, {65536 * 4, 3}, {2^62, 2^62}})) end,
  allowzero = function() return A.i("allowzero", rng:pick({1, 2, -1})) end,
  transA = function() return A.i("transA", rng:pick({1, 2, -1})) end,
  transB = function() return A.i("transB", rng:pick({0, 1, 2, -1, 2^40})) end,
  alpha = function() return A.f("alpha", weird_float()) end,
  beta = function() return A.f("beta", weird_float()) end,
  axis = function() return A.i("axis", rng:pick({100, -100, 2^62, MINI, MAXI, 3, 4, -5})) end,
  perm = function() return A.ints("perm", rng:pick({{}, {0, 0}, {5, 4, 3, 2, 1, 0}, {-1}, {0, 1, 2, 3, 4}, {0, 2, 1}, {3, 2, 1, 0}, {MAXI, 0}})) end,
  mode = function() return A.s("mode", rng:pick({"cubic", "bogus", "", "linear", "nearest", "edge", "reflect", "wrap", "bilinear"})) end,
  coordinate_transformation_mode = function() return A.s("coordinate_transformation_mode",
    rng:pick({"tf_crop_and_resize", "bogus", "half_pixel_symmetric", "tf_half_pixel_for_nn", "align_corners"})) end,
  nearest_mode = function() return A.s("nearest_mode", rng:pick({"bogus", "ceil", ""})) end,
  antialias = function() return A.i("antialias", rng:pick({1, -1})) end,
  keep_aspect_ratio_policy = function() return A.s("keep_aspect_ratio_policy", rng:pick({"not_larger", "not_smaller", "bogus"})) end,
  axes = function() return A.ints("axes", rng:pick({{5}, {-1, -1}, {2^62}, {}, {0, 1, 2, 3, 4, 5}, {MINI}})) end,
  num_groups = function() return A.i("num_groups", rng:pick({0, -1, 3, 2^62, 5, 7})) end,
  stash_type = function() return A.i("stash_type", rng:pick({0, 2, 11, 16, -1})) end,
  epsilon = function() return A.f("epsilon", rng:pick({-1, 0 / 0, math.huge, 0, -1e30, 1e38})) end,
  training_mode = function() return A.i("training_mode", 1) end,
  spatial = function() return A.i("spatial", 0) end,
  approximate = function() return A.s("approximate", rng:pick({"bogus", "TANH", ""})) end,
  to = function() return A.i("to", rng:pick({0, 8, 14, 15, 17, 20, 30, 999, -1, INT64, BOOL, FLOAT16})) end,
  keepdims = function() return A.i("keepdims", rng:pick({0, 2, -1})) end,
  noop_with_empty_axes = function() return A.i("noop_with_empty_axes", 1) end,
  start = function() return A.i("start", rng:pick({MINI, MAXI, -100, 100})) end,
  ["end"] = function() return A.i("end", rng:pick({MINI, MAXI, -100, 0})) end,
  split = function() return A.ints("split", rng:pick({{}, {-1, 5}, {2^62, -2^62}, {0, 0, 0}})) end,
  num_outputs = function() return A.i("num_outputs", rng:pick({0, 100, -1})) end,
  fmod = function() return A.i("fmod", 1) end,
  value = function() return A.t("value", tensor(nil, rng:pick({{2, 2}, {0}, {}, {2^31}}), {1, 2, 3, 4}, rng:pick({FLOAT, INT64, P.STRING, 99}), "raw")) end,
  value_float = function() return A.f("value_float", weird_float()) end,
  value_ints = function() return A.ints("value_ints", weird_ints()) end,
  value_string = function() return A.s("value_string", "x") end,
  sparse_value = function() return {name = "sparse_value", type = P.A_SPARSE, sparse_tensor = {dims = {4}}} end,
  min = function() return A.f("min", weird_float()) end,
  max = function() return A.f("max", weird_float()) end,
  scales = function() return A.floats("scales", rng:pick({{1, 1, 1e9, 1e9}, {0 / 0}, {}, {-1, 1, 1, 1}})) end,
  starts = function() return A.ints("starts", weird_ints()) end,
  ends = function() return A.ints("ends", weird_ints()) end,
  cubic_coeff_a = function() return A.f("cubic_coeff_a", weird_float()) end,
  exclude_outside = function() return A.i("exclude_outside", 1) end,
  extrapolation_value = function() return A.f("extrapolation_value", weird_float()) end,
  momentum = function() return A.f("momentum", weird_float()) end,
  gamma = function() return A.f("gamma", weird_float()) end,
}
local BAD_ATTR_NAMES = {}
for k in pairs(BAD_ATTRS) do BAD_ATTR_NAMES[#BAD_ATTR_NAMES + 1] = k end
table.sort(BAD_ATTR_NAMES)
local OP_ATTRS = {
  Conv = {"strides", "dilations", "pads", "group", "kernel_shape", "auto_pad"},
  ConvTranspose = {"strides", "dilations", "pads", "group", "kernel_shape", "auto_pad", "output_padding", "output_shape"},
  Reshape = {"allowzero"}, Gemm = {"transA", "transB", "alpha", "beta"},
  Softmax = {"axis"}, LogSoftmax = {"axis"}, Concat = {"axis"}, Flatten = {"axis"}, Gather = {"axis"}, Split = {"axis", "split", "num_outputs"},
  LayerNormalization = {"axis", "epsilon", "stash_type"}, Transpose = {"perm"},
  Resize = {"mode", "coordinate_transformation_mode", "nearest_mode", "antialias", "keep_aspect_ratio_policy", "axes", "cubic_coeff_a",
            "exclude_outside", "extrapolation_value"},
  GroupNormalization = {"num_groups", "epsilon", "stash_type"}, InstanceNormalization = {"epsilon"},
  BatchNormalization = {"epsilon", "training_mode", "spatial", "momentum"},
  LeakyRelu = {"alpha"}, Elu = {"alpha"}, Celu = {"alpha"}, HardSigmoid = {"alpha", "beta"}, Selu = {"alpha", "gamma"},
  Gelu = {"approximate"}, Cast = {"to"}, Unsqueeze = {"axes"}, Squeeze = {"axes"},
  ReduceMean = {"keepdims", "noop_with_empty_axes", "axes"}, ReduceSum = {"keepdims", "noop_with_empty_axes", "axes"},
  Shape = {"start", "end"}, Constant = {"value", "value_float", "value_ints", "value_string", "sparse_value"},
  Pad = {"mode"}, Mod = {"fmod"}, ConstantOfShape = {"value"}, Clip = {"min", "max"}, Upsample = {"scales", "mode"},
  Slice = {"starts", "ends", "axes"},
}

local function set_attr(n, a)
  n.attribute = n.attribute or {}
  for i, x in ipairs(n.attribute) do
    if x.name == a.name then
      if rng:chance(0.85) then n.attribute[i] = a else table.insert(n.attribute, a) end
      return
    end
  end
  n.attribute[#n.attribute + 1] = a
end
STRUCT.attr_value = function(m)
  local n = any_node(m, function(x) return OP_ATTRS[x.op_type] ~= nil end) or any_node(m)
  if not n then return end
  local names = OP_ATTRS[n.op_type] or BAD_ATTR_NAMES
  if rng:chance(0.1) then names = BAD_ATTR_NAMES end
  set_attr(n, BAD_ATTRS[rng:pick(names)]())
end
STRUCT.attr_type = function(m)
  local n = any_node(m, function(x) return x.attribute and #x.attribute > 0 end)
  if not n then return end
  local a = n.attribute[rng:int(#n.attribute)]
  local r = rng:int(6)
  if r == 1 then a.type = rng:pick({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 99, -1})
  elseif r == 2 then
    -- The value in another field, with the type saying so or not.
    local v = a.i or a.f or (a.ints and a.ints[1]) or 1
    a.i, a.f, a.s, a.ints, a.floats, a.t = nil, nil, nil, nil, nil, nil
    local k = rng:pick({"i", "f", "s", "ints", "floats", "strings"})
    if k == "i" then a.i = P.int(v) elseif k == "f" then a.f = v elseif k == "s" then a.s = tostring(v)
    elseif k == "ints" then a.ints = {P.int(v)} elseif k == "floats" then a.floats = {v} else a.strings = {tostring(v)} end
    if rng:chance(0.5) then a.type = ({i = 2, f = 1, s = 3, ints = 7, floats = 6, strings = 8})[k] end
  elseif r == 3 then a.type = nil
  elseif r == 4 then a.i, a.f, a.s, a.ints, a.floats, a.t = nil, nil, nil, nil, nil, nil
  elseif r == 5 then a.name = rng:pick({"", weird_name(), (a.name or "") .. " "})
  else
    -- Every field set.
    a.i, a.f, a.s, a.ints, a.floats = 1, 1.5, "x", {1, 2}, {1.5}
    a.t = tensor(nil, {1}, {1}, FLOAT, "raw")
  end
  if rng:chance(0.2) then a.ref_attr_name = "outer" end
end
STRUCT.attr_dup = function(m)
  local n = any_node(m, function(x) return x.attribute and #x.attribute > 0 end)
  if not n then return end
  local a = copy(n.attribute[rng:int(#n.attribute)])
  if a.i then a.i = weird_int() elseif a.ints then a.ints = weird_ints() elseif a.f then a.f = weird_float() end
  n.attribute[#n.attribute + 1] = a
end
STRUCT.attr_graph = function(m)
  -- A subgraph attribute (what If/Loop carry), possibly on an op that does not take one.
  local n = any_node(m)
  if not n then return end
  n.attribute = n.attribute or {}
  local sub = {name = "sub", node = {{input = {"a"}, output = {"b"}, op_type = "Relu"}}, output = {value_info("b", {1})}}
  n.attribute[#n.attribute + 1] = {name = rng:pick({"then_branch", "body", "value"}), type = P.A_GRAPH, g = sub}
end

-- Node inputs that are constants: shapes, scales, axes.
STRUCT.reshape_impossible = function(m)
  local shape = rng:pick({{-1, -1}, {0, 0, 0, 0, 0}, {2^62, 2^62, -1}, {-1, 2^62}, {7}, {-2}, {0}, {}, {1, -1}, {-1, 0},
    {MAXI, -1}, {2^31, 2^31, 2^31}, {3, -1, 5}, {MINI}, {-1, 2^62, 2^62}, {2^62, 4, -1}})
  local attrs = rng:chance(0.3) and {A.i("allowzero", rng:pick({0, 1}))} or {}
  local n = any_node(m, is_op("Reshape"))
  if n and n.input and n.input[2] and rng:chance(0.5) then n.input[2] = int_const(m, shape); return end
  tail(m, "Reshape", {int_const(m, shape)}, attrs)
end
STRUCT.slice_extreme = function(m)
  local v = {MAXI, MINI, -1, 0, 2^62, -2^62, 1, 2, 1e9, -MAXI}
  local k = rng:pick({1, 1, 2})
  local function pick_list() local t = {} for i = 1, k do t[i] = rng:pick(v) end return t end
  local inputs = {int_const(m, pick_list()), int_const(m, pick_list())}
  if rng:chance(0.8) then
    local ax = {}
    for i = 1, k do ax[i] = rng:pick({0, 1, -1, 2, 100, -100, MINI}) end
    inputs[3] = int_const(m, ax)
    if rng:chance(0.8) then inputs[4] = int_const(m, pick_list()) end
  end
  tail(m, "Slice", inputs)
end
STRUCT.expand_huge = function(m)
  local shape = rng:pick({{1e9, 1}, {2^31, 2^31}, {0, 2^62}, {1e5, 1e5}, {2^62, 0, 2^62}, {1, 1e9}, {65536, 1024}, {-1, 4}, {MAXI}})
  tail(m, "Expand", {int_const(m, shape)})
end
STRUCT.constantofshape_huge = function(m)
  local shape = rng:pick({{1e9}, {2^31, 2^31}, {1e5, 1e5}, {0, 2^62}, {2^62, 2^62, 0}, {-1}, {67108864}, {67108865}, {1e4, 1e4}})
  local attrs = {}
  if rng:chance(0.5) then attrs[1] = A.t("value", tensor(nil, {1}, {rng:pick({1, 0.5})}, rng:pick({FLOAT, INT64, DOUBLE, BOOL, FLOAT16}), "raw")) end
  local c = side(m, "ConstantOfShape", {int_const(m, shape)}, attrs)
  add_to_output(m, c)
end
STRUCT.range_huge = function(m)
  local cases = {{0, 1e9, 1}, {0, 1e10, 1}, {0, math.huge, 1}, {0, -1e300, 1}, {0, 1e308, 1e-300}, {0, 1, 0}, {1, 0, 1},
                 {0, 1e300, -1}, {-1e308, 1e308, 1}, {0, 0 / 0, 1}, {0, 67108864, 1}, {0, 2^62, 1}, {MINI, MAXI, 1}, {0, 3e38, 1e-38}}
  local c = rng:pick(cases)
  local ty = rng:pick({FLOAT, DOUBLE, INT64})
  local function s(x)
    if ty == INT64 then return add_init(m, tensor(nil, {}, {P.int(x)}, INT64, "raw")) end
    return add_init(m, tensor(nil, {}, {x}, ty, "raw"))
  end
  local r = side(m, "Range", {s(c[1]), s(c[2]), s(c[3])})
  if ty == INT64 then r = side(m, "Cast", {r}, {A.i("to", FLOAT)}) end
  add_to_output(m, r)
end
STRUCT.resize_huge = function(m)
  local s = rng:pick({1e9, 1e30, math.huge, 0 / 0, 0, -1, 1e-9, 4000, 5000, 2^31, 65536})
  local rank = rng:pick({2, 4, 4, 3})
  local scales = {}
  for i = 1, rank do scales[i] = i <= 2 and 1 or s end
  if rank == 2 then scales[2] = s end
  local inputs
  if rng:chance(0.6) then inputs = {"", float_const(m, scales)}
  else
    local sizes = {}
    for i = 1, rank do sizes[i] = i <= 1 and 1 or rng:pick({1e9, 0, -1, 2^62, 1, 67108864, 8192}) end
    inputs = {"", "", int_const(m, sizes)}
  end
  local attrs = {A.s("mode", rng:pick({"nearest", "linear"}))}
  if rng:chance(0.3) then attrs[#attrs + 1] = A.s("keep_aspect_ratio_policy", rng:pick({"not_larger", "not_smaller"})) end
  local n = any_node(m, is_op("Resize"))
  if n and rng:chance(0.5) then
    n.input = {n.input[1], table.unpack(inputs)}
    return
  end
  tail(m, "Resize", inputs, attrs)
end
STRUCT.pad_huge = function(m)
  local p = rng:pick({{2^62, 2^62}, {-1e9, 0}, {1e9, 1e9}, {MAXI, 1}, {MINI, 0}, {65536, 65536}, {-5, -5}})
  local rank = rng:pick({2, 4})
  local pads = {}
  for i = 1, 2 * rank do pads[i] = (i % rank == 0) and p[(i - 1) // rank + 1] or 0 end
  tail(m, "Pad", {int_const(m, pads)}, {A.s("mode", rng:pick({"constant", "edge", "reflect", "wrap"}))})
end
STRUCT.gather_odd = function(m)
  local idx = rng:pick({{100}, {-100}, {MINI}, {2^62}, {}, {0, 0, 0}, {MAXI}})
  tail(m, "Gather", {int_const(m, idx, rng:chance(0.3) and #idx == 1)}, {A.i("axis", rng:pick({0, 1, -1, 5}))})
end
STRUCT.conv_odd = function(m)
  -- A convolution at the output with a kernel sized to be odd.
  local kdims = rng:pick({{1, 1, 3, 3}, {4, 1, 1, 1}, {1, 1, 100, 100}, {0, 1, 1, 1}, {1, 1, 0, 0}, {1, 1}, {1, 1, 1, 1, 1}, {3, 2, 1, 1}})
  local n = count(kdims)
  local w = add_init(m, tensor(nil, kdims, {fill = 0.1, n = n}, FLOAT, "raw"))
  local attrs = {}
  for _ = 1, rng:range(0, 2) do attrs[#attrs + 1] = BAD_ATTRS[rng:pick(OP_ATTRS.ConvTranspose)]() end
  tail(m, rng:pick({"Conv", "ConvTranspose"}), {w}, attrs)
end
STRUCT.fold_huge = function(m)
  -- Constant folding of a broadcast of two modest constants into a huge one.
  local N = rng:pick({1e4, 1e5, 2^20, 3e4})
  local a = side(m, "ConstantOfShape", {int_const(m, {N, 1})})
  local b2 = side(m, "ConstantOfShape", {int_const(m, {1, N})})
  local op = rng:pick({"Add", "Mul", "Sub", "Div", "Mod", "Greater", "Where", "Pow", "Equal", "Sum", "Expand", "MatMul"})
  local c
  if op == "Where" then c = side(m, "Where", {side(m, "Greater", {a, b2}), a, b2})
  elseif op == "Expand" then c = side(m, "Expand", {a, int_const(m, {N, N})})
  else c = side(m, op, {a, b2}) end
  if op == "Greater" or op == "Equal" then c = side(m, "Cast", {c}, {A.i("to", FLOAT)}) end
  add_to_output(m, c)
end
STRUCT.fold_chain = function(m)
  -- Constants folded one from another, each within the memory budget and all together not
  -- (2^25 entries are 256 MB: eight of them pass a 2 GB address space).
  local N = rng:pick({2^20, 2^23, 2^25, 2^25})
  local c = side(m, "ConstantOfShape", {int_const(m, {N})})
  for _ = 1, rng:range(2, 10) do c = side(m, rng:pick({"Neg", "Relu", "Abs", "Tanh", "Identity"}), {c}) end
  add_to_output(m, c)
end
STRUCT.zero_huge = function(m)
  -- A constant with no entries but huge dims, through shape ops.
  local dims = rng:pick({{0, 2^62}, {2^62, 0}, {0, 2^62, 2^62}, {2^40, 2^40, 0}, {0, MAXI}, {MAXI, 0, 2}, {0, 2^31, 2^31, 2^31}})
  local c
  if rng:chance(0.5) then c = side(m, "ConstantOfShape", {int_const(m, dims)})
  else c = add_init(m, tensor(nil, dims, {}, FLOAT, "raw")) end
  local rank = #dims
  for _ = 1, rng:range(1, 3) do
    local op = rng:pick({"Transpose", "Slice", "Concat", "Gather", "Pad", "Split", "Expand", "ReduceSum", "Flatten", "Reshape",
                         "Squeeze", "Unsqueeze", "Softmax", "Resize", "Tile", "Shape", "Add", "Cast", "Where", "ReduceMax", "Size"})
    if op == "Transpose" then c = side(m, op, {c})
    elseif op == "Slice" then c = side(m, op, {c, int_const(m, {0}), int_const(m, {1}), int_const(m, {rng:int(rank) - 1})})
    elseif op == "Concat" then c = side(m, op, {c, c}, {A.i("axis", rng:int(rank) - 1)})
    elseif op == "Gather" then c = side(m, op, {c, int_const(m, {0}, true)}, {A.i("axis", rng:int(rank) - 1)})
    elseif op == "Pad" then
      local p = {}
      for i = 1, 2 * rank do p[i] = 1 end
      c = side(m, op, {c, int_const(m, p)})
    elseif op == "Split" then c = side(m, op, {c}, {A.i("axis", rng:int(rank) - 1)})
    elseif op == "Expand" then c = side(m, op, {c, int_const(m, dims)})
    elseif op == "Reshape" then c = side(m, op, {c, int_const(m, {-1})})
    elseif op == "Unsqueeze" then c = side(m, op, {c, int_const(m, {0})})
    elseif op == "Squeeze" then c = side(m, op, {c})
    elseif op == "Resize" then
      local sc = {}
      for i = 1, rank do sc[i] = 2 end
      c = side(m, op, {c, "", float_const(m, sc)})
    elseif op == "Add" or op == "Where" then
      c = op == "Add" and side(m, op, {c, c}) or side(m, op, {c, c, c})
    elseif op == "Cast" then c = side(m, op, {c}, {A.i("to", rng:pick({FLOAT, INT64, BOOL}))})
    else c = side(m, op, {c}) end
  end
  add_to_output(m, c)
end

-- Tensors.
STRUCT.tensor_type = function(m)
  local t = any_tensor(m)
  if not t then return end
  t.data_type = rng:range(0, 30)
  if rng:chance(0.1) then t.data_type = rng:pick({-1, 2^31 - 1, MAXI, 255}) end
end
STRUCT.tensor_dims = function(m)
  local t = any_tensor(m)
  if not t then return end
  local r = rng:int(6)
  t.dims = t.dims or {}
  if r == 1 then t.dims = rng:pick({{0}, {}, {0, 2^62}, {-1}, {2^31, 2^31}, {MAXI}, {2^62, 2^62, 2^62}})
  elseif r == 2 and #t.dims > 0 then t.dims[rng:int(#t.dims)] = rng:pick({0, -1, 2^40, MINI, 2})
  elseif r == 3 then t.dims[#t.dims + 1] = rng:pick({1, 2, 0})
  elseif r == 4 and #t.dims > 0 then table.remove(t.dims)
  elseif r == 5 then local d = {} for i = 1, rng:pick({32, 100, 1000}) do d[i] = 1 end t.dims = d
  else local d = {} for i = #t.dims, 1, -1 do d[#d + 1] = t.dims[i] end t.dims = d end
end
STRUCT.tensor_raw_len = function(m)
  local t = any_tensor(m, function(x) return x.raw_data ~= nil end)
  if not t then return end
  local r = rng:int(4)
  if r == 1 then t.raw_data = t.raw_data:sub(1, rng:range(0, math.max(0, #t.raw_data - 1)))
  elseif r == 2 then t.raw_data = t.raw_data .. string.rep("\0", rng:pick({1, 3, 4, 8, 1000}))
  elseif r == 3 then t.raw_data = ""
  else t.raw_data = nil end
end
STRUCT.tensor_typed_len = function(m)
  local t = any_tensor(m, function(x) return x.float_data or x.int64_data or x.double_data or x.int32_data end)
  if not t then
    t = any_tensor(m)
    if not t then return end
    -- Typed values next to (or instead of) raw_data.
    local n = 1
    for _, d in ipairs(t.dims or {}) do n = n * math.max(0, math.min(d, 1000)) end
    local field = rng:pick({"float_data", "int64_data", "double_data", "int32_data", "uint64_data", "string_data"})
    local v = {}
    for i = 1, math.min(n, 10000) do v[i] = field == "string_data" and "s" or 1 end
    t[field] = v
    if rng:chance(0.5) then t.raw_data = nil end
    return
  end
  for _, f in ipairs({"float_data", "int64_data", "double_data", "int32_data"}) do
    local v = t[f]
    if v then
      local r = rng:int(4)
      if r == 1 and #v > 0 then table.remove(v)
      elseif r == 2 then v[#v + 1] = weird_float()
      elseif r == 3 then t[f] = {}
      else
        -- The values in another typed field.
        t[f] = nil
        t[rng:pick({"float_data", "int64_data", "double_data", "int32_data", "uint64_data"})] = v
      end
      return
    end
  end
end
STRUCT.tensor_values = function(m)
  -- Valid storage of odd values: NaN, infinities, huge, subnormal.
  local t = any_tensor(m, function(x) return x.raw_data and (x.data_type == FLOAT or x.data_type == DOUBLE or x.data_type == FLOAT16) end)
  if not t then return end
  local size = SIZE[t.data_type]
  local n = #t.raw_data // size
  if n == 0 then return end
  local parts = {}
  for i = 1, n do parts[i] = PACK[t.data_type](rng:pick({0 / 0, math.huge, -math.huge, 1e38, 65504, 1e-45, 0, 1})) end
  t.raw_data = table.concat(parts)
end
STRUCT.tensor_string = function(m)
  local t = any_tensor(m)
  if not t then return end
  t.data_type = P.STRING
  t.raw_data = nil
  t.string_data = {"a", "", long_name(1000)}
end
STRUCT.tensor_segment = function(m)
  local t = any_tensor(m)
  if not t then return end
  t.segment = {begin = rng:pick({0, -1, MAXI}), ["end"] = rng:pick({0, 1, MINI})}
end

-- External data.
local function ext_tensor(m)
  local t = any_tensor(m, function(x) return x.external_data ~= nil end)
  if t then return t end
  t = any_tensor(m, function(x) return x.raw_data ~= nil end)
  if not t then return nil end
  -- Move its raw_data to this file's external data.
  local offset = CUR.ext_size
  CUR.ext[#CUR.ext + 1] = t.raw_data
  CUR.ext_size = offset + #t.raw_data
  CUR.has_external = true
  t.external_data = {{key = "location", value = CUR.ext_name}, {key = "offset", value = tostring(offset)},
                     {key = "length", value = tostring(#t.raw_data)}}
  t.raw_data = nil
  t.data_location = 1
  return t
end
local function set_entry(t, key, value)
  t.external_data = t.external_data or {}
  for _, e in ipairs(t.external_data) do
    if e.key == key then e.value = value return end
  end
  t.external_data[#t.external_data + 1] = {key = key, value = value}
end
local function get_entry(t, key)
  for _, e in ipairs(t.external_data or {}) do if e.key == key then return e.value end end
end
STRUCT.ext_location = function(m)
  local t = ext_tensor(m)
  if not t then return end
  local loc = rng:pick({"../x", "/etc/passwd", "missing.bin", "", ".", "..", "./" .. CUR.ext_name, CUR.ext_name .. "/",
    "a\0b", CUR.model_name, long_name(5000), BAD_UTF8, "sub/../" .. CUR.ext_name, DIR .. "/" .. CUR.ext_name, "~/x", "%s%n",
    "..\\..\\x", "C:\\x", "//etc/passwd", CUR.ext_name .. "\0.txt", "link-dev", "fifo", "subdir"})
  if loc == "link-dev" then
    CUR.link = CUR.base .. ".lnk"
    loc = CUR.link
  elseif loc == "fifo" then
    CUR.fifo = CUR.base .. ".fifo"
    loc = CUR.fifo
  elseif loc == "subdir" then
    CUR.subdir = CUR.base .. ".d"
    loc = CUR.subdir
  end
  if loc == CUR.model_name and rng:chance(0.7) then
    -- The model file itself, as a range of the right length from its start.
    local need = 1
    for _, d in ipairs(t.dims or {}) do need = need * math.max(0, d) end
    need = need * (SIZE[t.data_type] or 4)
    set_entry(t, "offset", "0")
    set_entry(t, "length", tostring(need))
  end
  set_entry(t, "location", loc)
  if rng:chance(0.3) then t.dims = {0} end
end
STRUCT.ext_range = function(m)
  local t = ext_tensor(m)
  if not t then return end
  local vals = {"-1", "abc", "1e3", " 1", "+1", "0x10", "99999999999999999999", "9223372036854775807", "", "-0",
                tostring(CUR.ext_size), tostring(CUR.ext_size + 1), "0", "4", "18446744073709551615", "9223372036854775808",
                "-9223372036854775808", "1.5", "1_0", "٣"}
  local key = rng:pick({"offset", "length", "offset", "length", "both"})
  if key == "both" then
    set_entry(t, "offset", rng:pick(vals)); set_entry(t, "length", rng:pick(vals))
  else
    set_entry(t, key, rng:pick(vals))
  end
end
STRUCT.ext_keys = function(m)
  local t = ext_tensor(m)
  if not t then return end
  local r = rng:int(6)
  if r == 1 then
    for i = #t.external_data, 1, -1 do if t.external_data[i].key == "location" then table.remove(t.external_data, i) end end
  elseif r == 2 then t.external_data[#t.external_data + 1] = {key = "location", value = rng:pick({"../y", "other.bin", CUR.ext_name})}
  elseif r == 3 then t.external_data[#t.external_data + 1] = {key = rng:pick({"checksum", "", "basepath", BAD_UTF8}), value = "x"}
  elseif r == 4 then t.data_location = rng:pick({0, 2, -1, 99})
  elseif r == 5 then t.external_data = nil
  else t.raw_data = string.rep("\0", 16) end
end
STRUCT.ext_file = function(m)
  if not ext_tensor(m) then return end
  CUR.ext_mutation = rng:pick({"missing", "truncated", "empty", "longer", "directory"})
end

-- Huge graphs.
STRUCT.many_nodes = function(m)
  local n = rng:pick({1000, 5000, 20000})
  local op = rng:pick({"Identity", "Relu", "Dropout", "Tanh"})
  for _ = 1, n do tail(m, op) end
end
STRUCT.deep_graph_attr = function(m)
  -- A subgraph attribute nested N levels (If -> then_branch -> If -> ...).
  local depth = rng:pick({10, 60, 70, 200, 1000})
  local g = {name = "leaf"}
  for i = 1, depth do
    g = {name = "g" .. i, node = {{op_type = "If", input = {"c"}, output = {"o"}, attribute = {{name = "then_branch", type = P.A_GRAPH, g = g}}}}}
  end
  local n = any_node(m)
  if not n then return end
  n.attribute = n.attribute or {}
  n.attribute[#n.attribute + 1] = {name = "then_branch", type = P.A_GRAPH, g = g}
end

local STRUCT_NAMES = {}
for k in pairs(STRUCT) do STRUCT_NAMES[#STRUCT_NAMES + 1] = k end
table.sort(STRUCT_NAMES)

------------------------------------------------------------------------------------------------
-- Protobuf mutations (on the wire-level tree).

local TREE = {}

local function pick_entry(tree, pred)
  local all = P.entries(tree)
  local c = {}
  for _, x in ipairs(all) do if not pred or pred(x.e) then c[#c + 1] = x end end
  if #c == 0 then return nil end
  return rng:pick(c)
end

TREE.varint_long = function(tree)
  local x = pick_entry(tree, function(e) return e.w == 0 or e.w == 2 end)
  if not x then return end
  local r = rng:int(3)
  if r == 1 then x.e.long = rng:pick({1, 2, 5, 8, 9}) -- still valid (<= 10 bytes) for small values
  elseif r == 2 then x.e.long = rng:pick({10, 11, 15, 20, 100})
  else x.e.keylong = rng:pick({1, 9, 10, 12}) end
end
TREE.wire_type = function(tree)
  local x = pick_entry(tree)
  if not x then return end
  local w = x.e.w
  repeat x.e.w = rng:range(0, 7) until x.e.w ~= w
end
TREE.length = function(tree)
  local x = pick_entry(tree, function(e) return e.w == 2 end)
  if not x then return end
  local v = x.e.v
  local n = type(v) == "table" and #P.serialize(v) or #tostring(v)
  x.e.len = rng:pick({n + 1, n + 2, n + 1000, math.max(0, n - 1), 2^31, 2^32 + n, 2^62, -1, MAXI, 0})
end
TREE.unknown_field = function(tree)
  local x = pick_entry(tree, function(e) return type(e.v) == "table" end)
  local target = x and rng:chance(0.8) and x.e.v or tree
  local f = rng:pick({0, 99, 1000, 2^29 - 1, 2^29, 19000, 19999, 2^31, 3, 7, 16})
  local w = rng:pick({0, 1, 2, 5, 3, 4, 6, 7})
  local e = {f = f, w = w}
  if w == 0 then e.v = rng:pick({0, 1, -1, MAXI})
  elseif w == 1 then e.v = string.pack("<d", 1.5)
  elseif w == 5 then e.v = string.pack("<f", 1.5)
  elseif w == 2 then e.v = rng:pick({"", "abc", string.rep("\0", 1000), P.varint(-1)})
  elseif w == 3 then e.v = rng:chance(0.5) and {} or {{f = 1, w = 0, v = 5}}; e.group = true
  else e.v = "" end
  table.insert(target, rng:int(#target + 1), e)
end
TREE.group_deep = function(tree)
  -- Unknown groups nested N deep in a message (start-group keys, then as many end-group keys).
  local n = rng:pick({100, 1000, 10000, 100000, 1000000})
  local f = rng:pick({99, 1000, 15})
  local open, close = P.varint((f << 3) | 3), P.varint((f << 3) | 4)
  local raw = string.rep(open, n) .. string.rep(close, rng:chance(0.8) and n or n - 1)
  local x = pick_entry(tree, function(e) return type(e.v) == "table" end)
  local target = x and rng:chance(0.5) and x.e.v or tree
  -- The raw bytes stand for a whole entry (its key included): written after the first key.
  table.insert(target, {f = f, w = 3, raw = raw:sub(#open + 1)})
end
TREE.nest_deep = function(tree)
  -- A known message nested N deep: TypeProto.sequence_type.elem_type... or NodeProto attribute
  -- graphs, built from the inside out with O(N) work.
  local n = rng:pick({50, 64, 65, 100, 1000, 10000, 100000})
  local chain
  if rng:chance(0.5) then
    -- Type{4: TypeSeq{1: Type{...}}}
    chain = {P.varint((4 << 3) | 2), P.varint((1 << 3) | 2)}
  else
    -- Graph{1: Node{5: Attr{6: Graph{...}}}}
    chain = {P.varint((1 << 3) | 2), P.varint((5 << 3) | 2), P.varint((6 << 3) | 2)}
  end
  local core = ""
  local keys = {}
  for i = 1, n do for _, k in ipairs(chain) do keys[#keys + 1] = k end end
  -- Lengths from the inside out.
  local lens = {}
  local len = #core
  for i = #keys, 1, -1 do
    lens[i] = len
    len = len + #keys[i] + #P.varint(len)
  end
  local parts = {}
  for i = 1, #keys do parts[#parts + 1] = keys[i] .. P.varint(lens[i]) end
  local body = table.concat(parts) .. core
  -- Place it: as the type of the graph input (TypeProto chain) or as a node's attribute graph.
  local graph = nil
  for _, e in ipairs(tree) do if e.f == 7 and type(e.v) == "table" then graph = e.v end end
  if not graph then table.insert(tree, {f = 7, w = 2, v = body}) return end
  if #chain == 2 then
    table.insert(graph, {f = 11, w = 2, v = P.varint((1 << 3) | 2) .. P.varint(1) .. "q" .. P.varint((2 << 3) | 2) .. P.varint(#body) .. body})
  else
    table.insert(graph, {f = 1, w = 2, v = body:sub(#chain[1] + #P.varint(lens[1]) + 1)})
  end
end
TREE.dup_entry = function(tree)
  local x = pick_entry(tree)
  if not x then return end
  for _ = 1, rng:pick({1, 1, 2, 100}) do table.insert(x.parent, x.i, x.e) end
end
TREE.delete_entry = function(tree)
  local x = pick_entry(tree)
  if x then table.remove(x.parent, x.i) end
end
TREE.cut_payload = function(tree)
  local x = pick_entry(tree, function(e) return e.w == 2 end)
  if not x then return end
  local s = type(x.e.v) == "table" and P.serialize(x.e.v) or tostring(x.e.v)
  x.e.v = s:sub(1, rng:range(0, math.max(0, #s - 1)))
  if rng:chance(0.5) then x.e.len = #s end
end
TREE.packed_odd = function(tree)
  -- A packed field whose length is not a multiple of its element size, or a varint run cut.
  local x = pick_entry(tree, function(e) return e.w == 2 and type(e.v) == "string" and (e.f == 4 or e.f == 10 or e.f == 7 or e.f == 5) end)
  if not x then return end
  local s = x.e.v
  if rng:chance(0.5) then x.e.v = s .. "\1" else x.e.v = s .. "\255" end
end
TREE.fixed_short = function(tree)
  local x = pick_entry(tree, function(e) return e.w == 5 or e.w == 1 end)
  if not x then return end
  x.e.v = tostring(x.e.v):sub(1, rng:range(0, 3))
end

local TREE_NAMES = {}
for k in pairs(TREE) do TREE_NAMES[#TREE_NAMES + 1] = k end
table.sort(TREE_NAMES)

------------------------------------------------------------------------------------------------
-- Byte mutations.

local BYTES = {}
BYTES.truncate = function(b)
  if rng:chance(0.2) then return b:sub(1, rng:range(0, 8)) end
  return b:sub(1, rng:range(0, math.max(0, #b - 1)))
end
BYTES.byteflip = function(b)
  if #b == 0 then return b end
  local n = rng:pick({1, 1, 2, 4, 8, 32})
  local t = {}
  for i = 1, #b, 4096 do t[#t + 1] = b:sub(i, i + 4095) end
  for _ = 1, n do
    local p = rng:int(#b)
    local ci = (p - 1) // 4096 + 1
    local off = (p - 1) % 4096 + 1
    local chunk = t[ci]
    local bit = rng:chance(0.7) and (1 << rng:range(0, 7)) or rng:range(1, 255)
    t[ci] = chunk:sub(1, off - 1) .. string.char(chunk:byte(off) ~ bit) .. chunk:sub(off + 1)
  end
  return table.concat(t)
end
BYTES.append = function(b) return b .. rng:pick({"\0", "\255", "\8", "\10\255\255\255\255\15", string.rep("\0", 1000), b}) end
BYTES.insert = function(b)
  local p = rng:range(0, #b)
  return b:sub(1, p) .. rng:pick({"\255\255\255\255\255\255\255\255\255\255\1", "\0", "\7", "\58\5abcde", "\11", "\12"}) .. b:sub(p + 1)
end
BYTES.empty = function() return rng:pick({"", "\0", "\8", "\58\0", "\58\2\10\0", "onnx"}) end
BYTES.splice = function(b)
  -- The start of this model followed by (the end of) a fixture.
  local list = fixtures()
  if #list == 0 then return b end
  local other = rng:pick(list).bytes
  return b:sub(1, rng:range(0, #b)) .. other:sub(rng:range(1, #other))
end

local BYTES_NAMES = {}
for k in pairs(BYTES) do BYTES_NAMES[#BYTES_NAMES + 1] = k end
table.sort(BYTES_NAMES)

------------------------------------------------------------------------------------------------
-- Building one file.

local function enabled(name)
  if SKIP[name] then return false end
  if ONLY and not ONLY[name] then return false end
  return true
end
local function available(list)
  local out = {}
  for _, n in ipairs(list) do if enabled(n) then out[#out + 1] = n end end
  return out
end
local STRUCT_AVAIL = available(STRUCT_NAMES)
local TREE_AVAIL = available(TREE_NAMES)
local BYTES_AVAIL = available(BYTES_NAMES)
local BASE_AVAIL, BASE_W = {}, {}
for i, n in ipairs(BASE_NAMES) do
  -- GEOREPL_FUZZ_ONLY names mutations; kinds are all kept unless some are named too.
  if not SKIP[n] then BASE_AVAIL[#BASE_AVAIL + 1] = n; BASE_W[#BASE_W + 1] = BASE_WEIGHTS[i] end
end
if ONLY then
  local only_kinds, w = {}, {}
  for i, n in ipairs(BASE_AVAIL) do if ONLY[n] then only_kinds[#only_kinds + 1] = n; w[#w + 1] = BASE_W[i] end end
  if #only_kinds > 0 then BASE_AVAIL, BASE_W = only_kinds, w end
end

local function make_file(k)
  local base = string.format("%d-%d", SEED, k)
  CUR = {base = base, model_name = base .. ".onnx", ext_name = base .. ".data", ext = {}, ext_size = 0}
  NEWN = 0
  local kind = BASE_AVAIL[rng:weighted(BASE_W)]
  local m, info = BASES[kind]()
  local muts = {}
  local nmut = rng:chance(0.15) and 0 or rng:weighted({50, 30, 20})
  local tree_muts, byte_muts = {}, {}
  local raw_fixture = kind == "fixture" and rng:chance(0.3)
  for _ = 1, nmut do
    local r = rng:float()
    if #BYTES_AVAIL > 0 and (r < 0.15 or raw_fixture or (#STRUCT_AVAIL == 0 and #TREE_AVAIL == 0)) then
      byte_muts[#byte_muts + 1] = rng:pick(BYTES_AVAIL)
    elseif #TREE_AVAIL > 0 and (r < 0.35 or #STRUCT_AVAIL == 0) then
      tree_muts[#tree_muts + 1] = rng:pick(TREE_AVAIL)
    elseif #STRUCT_AVAIL > 0 then
      local name = rng:pick(STRUCT_AVAIL)
      if DEBUG then io.stderr:write("onnx.lua: ", kind, " + ", name, "\n") end
      STRUCT[name](m)
      muts[#muts + 1] = name
    end
  end
  local bytes
  if raw_fixture then
    bytes = CUR.fixture.bytes
    kind = "fixture_bytes"
  else
    local tree = P.tree(m, "Model")
    for _, name in ipairs(tree_muts) do
      if DEBUG then io.stderr:write("onnx.lua: ", kind, " + ", name, "\n") end
      TREE[name](tree)
      muts[#muts + 1] = name
    end
    bytes = P.serialize(tree)
  end
  for _, name in ipairs(byte_muts) do
    bytes = BYTES[name](bytes)
    muts[#muts + 1] = name
  end
  if info and info.fixture then kind = kind .. ":" .. info.fixture end
  return kind, muts, bytes, info or {}
end

--- Writes the model, its external data and whatever the mutations asked for; returns the
--- list of paths to remove afterwards.
local function write_files(bytes)
  local files = {}
  local model_path = DIR .. "/" .. CUR.model_name
  lib.write_file(model_path, bytes)
  files[#files + 1] = model_path
  if CUR.has_external then
    local data = table.concat(CUR.ext)
    local mut = CUR.ext_mutation
    local path = DIR .. "/" .. CUR.ext_name
    if mut == "truncated" then data = data:sub(1, rng:range(0, math.max(0, #data - 1)))
    elseif mut == "empty" then data = ""
    elseif mut == "longer" then data = data .. string.rep("\0", 100) end
    if mut == "directory" then
      os.execute("mkdir -p " .. lib.shell_quote(path))
      files[#files + 1] = path
    elseif mut ~= "missing" then
      lib.write_file(path, data)
      files[#files + 1] = path
    end
  end
  if CUR.link then
    local target = rng:pick({"/dev/zero", "/dev/urandom", "/etc/passwd", "/proc/self/mem", "/nonexistent", "/dev/null"})
    os.execute("ln -sf " .. target .. " " .. lib.shell_quote(DIR .. "/" .. CUR.link))
    files[#files + 1] = DIR .. "/" .. CUR.link
  end
  if CUR.fifo then
    os.execute("mkfifo " .. lib.shell_quote(DIR .. "/" .. CUR.fifo) .. " 2>/dev/null")
    files[#files + 1] = DIR .. "/" .. CUR.fifo
  end
  if CUR.subdir then
    os.execute("mkdir -p " .. lib.shell_quote(DIR .. "/" .. CUR.subdir))
    files[#files + 1] = DIR .. "/" .. CUR.subdir
  end
  return files
end

------------------------------------------------------------------------------------------------
-- An encoder for geo.load{decoder=, encoder=}: an MLP from the data to 2 d values.

local function encoder_file(info, k)
  local D = info.shape and count(info.shape) or rng:range(1, 50)
  if D > 100000 then D = 100 end
  local saved = CUR
  CUR = {base = saved.base .. ".enc", ext = {}, ext_size = 0, ext_name = saved.base .. ".enc.data", model_name = saved.base .. ".enc.onnx"}
  local b = builder()
  local name = rng:pick({"x", "input"})
  local shape = rng:chance(0.7) and {1, D} or {1, D + rng:pick({1, -1})}
  if shape[2] < 1 then shape[2] = 1 end
  table.insert(b.input, 1, value_info(name, shape))
  b.shapes[name] = shape
  local x = linear(b, name, rng:range(1, 8))
  x = act(b, x)
  local out = (info.latent or 2) * rng:pick({2, 2, 1})
  if rng:chance(0.1) then out = math.max(1, out - 1) end
  x = linear(b, x, out)
  local m = b:model(name, x)
  local bytes = P.encode(m, "Model")
  if rng:chance(0.1) then bytes = BYTES.truncate(bytes) end
  local files = write_files(bytes)
  CUR = saved
  return DIR .. "/" .. saved.base .. ".enc.onnx", files
end

------------------------------------------------------------------------------------------------
-- Checks.

local counts = {files = 0, loaded = 0, error = 0, unclear = 0, interrupted = 0, ops = 0, op_ok = 0, op_error = 0,
                op_unclear = 0, slow = 0}
local by_kind = {}
local stop = false

local is_interrupt, classify = lib.is_interrupt, lib.classify

local function finish(outcome, note, dt, ok, e)
  log:finish(lib.outcome_text(outcome, note, dt, ok, e))
end

--- Runs operation `name` (f) on a loaded model, logged and classified.
local function op(k, name, f, ...)
  if stop or SKIP[name] then return end
  log:begin(k, "op " .. name)
  local t0 = clock()
  local ok, e = pcall(f, ...)
  local dt = clock() - t0
  local outcome, note = classify(ok, e)
  counts.ops = counts.ops + 1
  if outcome == "ok" then counts.op_ok = counts.op_ok + 1
  elseif outcome == "error" then counts.op_error = counts.op_error + 1
  elseif outcome == "unclear" then counts.op_unclear = counts.op_unclear + 1
  else counts.interrupted = counts.interrupted + 1; stop = true end
  if dt > 5 then counts.slow = counts.slow + 1 end
  finish(outcome, note, dt, ok, e)
  return ok and e or nil
end

local function exercise(k, m)
  local d = m.latent_dim
  if type(d) ~= "number" or d < 1 then return end
  op(k, "fields", function() return tostring(m), m.name, m.description, m.data_dim, m.data_shape, m.has_encoder end)
  local z = geo.randn(d, k)
  op(k, "decode", m.decode, m, geo.zeros(d))
  op(k, "decode", m.decode, m, z)
  op(k, "jacobian", m.jacobian, m, z)
  op(k, "metric", m.metric, m, z)
  op(k, "volume", m.volume, m, z)
  local D = m.data_dim
  if m.has_encoder and type(D) == "number" and D <= 10000000 then
    op(k, "encode", function() return m:encode(geo.randn(D, k + 2)) end)
  end
  -- The iterative algorithms only on moderate networks (the huge ones are about allocation).
  if type(D) ~= "number" or D > 100000 then return end
  local b = geo.randn(d, k + 1)
  op(k, "geodesic", function()
    local p = geo.geodesic(m, z, b, {points = 4, max_iter = 5})
    return p:length(), p:energy()
  end)
  if d >= 2 then
    local u, v = geo.zeros(d):totable(), geo.zeros(d):totable()
    u[1], v[2] = 1, 1
    op(k, "sectional", geo.sectional, m, z, geo.vec(u), geo.vec(v))
  end
end

local function remove_all(files)
  for i = #files, 1, -1 do os.remove(files[i]) end
end

local function one_file(k)
  rng = lib.rng(SEED, k)
  log:begin(k, "onnx")
  local kind, muts, bytes, info = make_file(k)
  local files = write_files(bytes)
  local path = files[1]
  -- geo.load(path), or the table form with an encoder, a name and a data_shape.
  local call = function() return geo.load(path) end
  local form = "path"
  if rng:chance(0.15) then
    local opts = {decoder = path}
    form = "table"
    if rng:chance(0.6) then
      local enc, efiles = encoder_file(info, k)
      for _, f in ipairs(efiles) do files[#files + 1] = f end
      opts.encoder = enc
    end
    if rng:chance(0.4) then opts.name = rng:pick({"fuzz", "", long_name(10000), BAD_UTF8, ESC}) end
    if rng:chance(0.5) then
      local D = info.shape and count(info.shape) or 4
      opts.data_shape = rng:pick({{D}, {1, D}, {D + 1}, {0}, {-1}, {2^53}, {1.5}, {}, {0 / 0}, {D, 1, 1}, {MAXI, 2}})
      if rng:chance(0.05) then opts.data_shape = "x" end
    end
    call = function() return geo.load(opts) end
  end
  log:part(string.format("%s [%s] %d bytes %s%s", kind, table.concat(muts, ","), #bytes, path, form == "table" and " (table)" or ""))
  local t0 = clock()
  local ok, m = pcall(call)
  local dt = clock() - t0
  local outcome, note = classify(ok, m)
  if outcome == "ok" then outcome = "loaded" end
  counts.files = counts.files + 1
  counts[outcome] = counts[outcome] + 1
  if dt > 5 then counts.slow = counts.slow + 1 end
  local key = kind:match("^[^:]*") .. (#muts == 0 and "" or ("+" .. muts[1]))
  by_kind[key] = by_kind[key] or {files = 0, loaded = 0}
  by_kind[key].files = by_kind[key].files + 1
  if outcome == "loaded" then by_kind[key].loaded = by_kind[key].loaded + 1 end
  finish(outcome, note, dt, ok, m)
  if outcome == "interrupted" then stop = true end
  local unclear_before = counts.op_unclear
  if ok and not stop then exercise(k, m) end
  m = nil
  if not KEEP and outcome ~= "unclear" and counts.op_unclear == unclear_before then remove_all(files) end
end

------------------------------------------------------------------------------------------------
-- Main loop (as in model.lua: an interruption ends the run; the summary says where to resume).

local nextk = FIRST
local internal_errors = 0
local function run()
  while nextk <= COUNT and not stop do
    local k = nextk
    nextk = k + 1
    one_file(k)
    if k % 20 == 0 then collectgarbage() end
  end
end
while nextk <= COUNT and not stop do
  local ok, e = pcall(run)
  if not ok then
    if is_interrupt(e) then
      if not stop then counts.interrupted = counts.interrupted + 1 end
      if log.open then log:finish("interrupted (outside the call)") end
      stop = true
    else
      internal_errors = internal_errors + 1
      if log.open then log:finish("FUZZER-ERROR " .. lib.escape(tostring(e), 300)) end
      io.stderr:write("onnx.lua: internal error at file " .. (nextk - 1) .. ": " .. tostring(e) .. "\n")
      if internal_errors > 20 then error("onnx.lua: too many internal errors") end
    end
  end
end

if not KEEP then
  for _, fx in ipairs(FIXTURES_LOADED or {}) do
    if fx.data then os.remove(DIR .. "/" .. fx.name .. ".onnx.data") end
  end
end

local names = {}
for k in pairs(by_kind) do names[#names + 1] = k end
table.sort(names)
local parts = {}
for _, k in ipairs(names) do parts[#parts + 1] = string.format("%s=%d/%d", k, by_kind[k].loaded, by_kind[k].files) end
print("loaded/files by kind+first mutation: " .. table.concat(parts, " "))
print(string.format("onnx: seed %d files %d loaded %d errors %d unclear %d interrupted %d ops %d op_errors %d op_unclear %d slow %d next %d",
  SEED, counts.files, counts.loaded, counts.error, counts.unclear, counts.interrupted, counts.ops, counts.op_error,
  counts.op_unclear, counts.slow, nextk))
