-- The model-file fuzzer of georepl.
--
--     georepl scripts/fuzz/model.lua SEED COUNT DIR [LOGFILE [FIRST]]
--
-- Builds COUNT georepl model files (files FIRST..COUNT) with string.pack: valid safetensors
-- files with small MLPs and conv nets (linear, reshape, conv2d, conv_transpose2d, batchnorm,
-- flatten, every activation; an encoder sometimes) and consistent-but-huge networks
-- (conv_transpose2d chains with huge outputs, wide linear layers, thousands of layers, huge
-- paddings and strides); then mutates most of them: the header length, the JSON header
-- (truncation, invalid UTF-8, deep nesting, duplicate keys, wrong types, odd numbers), dtypes,
-- shapes, data_offsets, the metadata, the layer lists (unknown ops, missing or wrong tensors,
-- wrong reshapes, huge strides and paddings, empty lists, 10,000-character op names with
-- terminal escapes), truncation and byte flips. Each file is written to DIR and loaded with
-- geo.load under pcall; when it loads, decode, jacobian, metric, volume, singular_values,
-- encode, a line and sometimes a short geodesic and curvature are tried on it.
-- File k draws from its own generator seeded from (SEED, k): `model.lua SEED k DIR LOG k`
-- rebuilds file k alone (GEOREPL_FUZZ_KEEP=1 keeps the files).
--
-- Log lines (flushed before each load and each operation, outcome after it):
--     SEED K model KIND [mutations] SIZE => loaded|error|unclear|interrupted TIME [message]
--     SEED K op NAME => ok|error|unclear|interrupted TIME [message]
--
-- Environment: GEOREPL_FUZZ_SKIP (comma-separated mutation, kind or operation names to leave
-- out, e.g. "jacobian,huge_convt"; empty by default), GEOREPL_FUZZ_KEEP=1 (keep every file;
-- by default a file is removed after its checks unless its outcome was unclear).
--
-- Last line on stdout:
--     model: seed S files N loaded L errors E unclear U interrupted I ops O op_errors P op_unclear Q next K

local here = (arg and arg[0] and arg[0]:match("^(.*)/[^/]*$")) or "."
local lib = dofile(here .. "/lib.lua")

local SEED = math.tointeger(tonumber(arg[1] or ""))
local COUNT = math.tointeger(tonumber(arg[2] or ""))
local DIR = arg[3]
if not SEED or not COUNT or not DIR then
  io.stderr:write("usage: georepl scripts/fuzz/model.lua SEED COUNT DIR [LOGFILE [FIRST]]\n")
  os.exit(2)
end
local LOGFILE = arg[4]
local FIRST = math.tointeger(tonumber(arg[5] or "1")) or 1
local SKIP = lib.skip_set()
local KEEP = os.getenv("GEOREPL_FUZZ_KEEP") == "1"
local DEBUG = os.getenv("GEOREPL_FUZZ_DEBUG") == "1"
lib.mkdir(DIR)
local log = lib.log(LOGFILE, SEED)
local clock = geo.clock or os.clock
local obj = lib.obj

local rng = lib.rng(SEED, 0)

------------------------------------------------------------------------------------------------
-- Values.

local ESC = "\27[2J\27[31m\27]0;pwned\7\8\13"
local function long_name(n) return string.rep("A" .. ESC, n // (1 + #ESC) + 1):sub(1, n) end
local BAD_UTF8 = "\255\254\192\128\237\160\128"

local function weird_string()
  return rng:pick({"", " ", "x", long_name(10000), BAD_UTF8, "a\0b", ESC, "1", "-1", "[]", "{}", "null", "F32",
                   "\226\128\174", string.rep("9", 400)})
end
local function weird_int()
  return rng:pick({0, -1, 1, 2, 3, 2^31, 2^32, 2^53, math.maxinteger, math.mininteger, 1e9, 65536})
end
-- JSON numbers the writer cannot produce directly.
local function weird_number_raw()
  return {__raw = rng:pick({"1e400", "-1e400", "-0", "1.5", "1e2", "1E2", "0.0", "00012", "0x10", "123456789012345678901234567890",
                            "9223372036854775807", "9223372036854775808", "-9223372036854775809", "NaN", "Infinity", "-",
                            "1.", ".5", "+1", "18446744073709551615", "4.9e-324", "2.5e-400"})}
end
local function weird_value()
  local r = rng:int(6)
  if r == 1 then return weird_string()
  elseif r == 2 then return weird_int()
  elseif r == 3 then return weird_number_raw()
  elseif r == 4 then return rng:pick({{}, {1}, {"a"}, obj(), obj("a", 1), {__raw = "null"}, {__raw = "true"}})
  elseif r == 5 then return {__raw = "false"}
  else return {__raw = string.rep("[", 300) .. string.rep("]", 300)} end
end

------------------------------------------------------------------------------------------------
-- Base models.

local BASES = {}

BASES.mlp = function() return lib.build_mlp(rng) end
BASES.conv = function() return lib.build_conv(rng) end

-- Consistent networks with huge outputs or many layers: small files, big work.
BASES.huge_convt = function()
  local m = {tensors = {}, dtype = "F32", latent = 2}
  local sizes = rng:pick({{2698, 15002}, {1000, 1000}, {30000, 30000}, {2^20, 2^20}, {2^31, 2^31}, {100, 2^40},
                          {2^62, 1}, {math.maxinteger, 1}, {65535, 65535}})
  local sh, sw = sizes[1], sizes[2]
  local kh, kw = 2, 2
  m.decoder = {lib.linear(m, rng, "decoder", 0, 2, 4), obj("op", "reshape", "shape", {1, 2, 2}),
               obj("op", "conv_transpose2d", "weight", lib.add_tensor(m, rng, "decoder.2.weight", {1, 1, kh, kw}, 0.5),
                   "stride", {sh, sw}, "padding", {0, 0}, "output_padding", {0, 0})}
  local H, W = sh + kh, sw + kw
  if H < 0 then H = math.maxinteger end
  if W < 0 then W = math.maxinteger end
  m.data_shape = {1, H, W}
  if rng:chance(0.3) then m.decoder[#m.decoder + 1] = obj("op", "sigmoid") end
  return m
end

BASES.huge_channels = function()
  local m = {tensors = {}, dtype = rng:pick({"F16", "BF16", "F32"}), latent = 2}
  local C = rng:pick({4096, 65536, 2^20})
  m.decoder = {lib.linear(m, rng, "decoder", 0, 2, 4), obj("op", "reshape", "shape", {1, 2, 2})}
  m.tensors[#m.tensors + 1] = {name = "decoder.2.weight", dtype = m.dtype, shape = {1, C, 1, 1}, values = {fill = 0.01, n = C}}
  m.decoder[3] = obj("op", "conv_transpose2d", "weight", "decoder.2.weight", "stride", 1)
  m.data_shape = {C, 2, 2}
  if rng:chance(0.5) then
    -- Then back down to one channel with a big spatial stride.
    local s = rng:pick({8, 64, 512})
    m.tensors[#m.tensors + 1] = {name = "decoder.3.weight", dtype = m.dtype, shape = {C, 1, 1, 1}, values = {fill = 0.01, n = C}}
    m.decoder[4] = obj("op", "conv_transpose2d", "weight", "decoder.3.weight", "stride", s)
    m.data_shape = {1, s + 1, s + 1}
  end
  return m
end

BASES.wide_linear = function()
  local m = {tensors = {}, dtype = rng:pick({"F16", "BF16", "F32"}), latent = rng:range(1, 3)}
  local N = rng:pick({2^16, 2^18, 2^20, 3 * 2^20})
  m.tensors[1] = {name = "w", dtype = m.dtype, shape = {N, m.latent}, values = {fill = 0.001, n = N * m.latent}}
  m.decoder = {obj("op", "linear", "weight", "w")}
  m.data_shape = {N}
  if rng:chance(0.5) then m.decoder[2] = obj("op", "tanh") end
  return m
end

BASES.many_layers = function()
  local m = {tensors = {}, dtype = "F32", latent = 2}
  m.decoder = {}
  if rng:chance(0.5) then
    local n = rng:pick({1000, 10000, 30000})
    for i = 1, n do m.decoder[i] = lib.obj("op", (i % 2 == 0) and "tanh" or "softplus") end
    m.data_shape = {2}
  else
    local n = rng:pick({300, 1000, 3000})
    for i = 1, n do
      m.tensors[#m.tensors + 1] = {name = "l" .. i, dtype = "F32", shape = {2, 2}, values = {1, 0.01, -0.01, 1}}
      m.decoder[#m.decoder + 1] = obj("op", "linear", "weight", "l" .. i)
      if i % 3 == 0 then m.decoder[#m.decoder + 1] = obj("op", "tanh") end
    end
    m.data_shape = {2}
  end
  return m
end

BASES.huge_padding = function()
  local m = {tensors = {}, dtype = "F32", latent = 2}
  local p = rng:pick({1000, 100000, 2^31, 2^40, 2^61, math.maxinteger})
  local s = rng:pick({1, 2, 1000})
  m.decoder = {lib.linear(m, rng, "decoder", 0, 2, 4), obj("op", "reshape", "shape", {1, 2, 2}),
               obj("op", "conv2d", "weight", lib.add_tensor(m, rng, "decoder.2.weight", {1, 1, 1, 1}, 0.5),
                   "stride", s, "padding", {p, p})}
  local h = (2 + 2 * p - 1) // s + 1
  if h < 0 or 2 * p < 0 then h = math.maxinteger end
  m.data_shape = {1, h, h}
  return m
end

-- A net whose parts are valid but wired oddly: kernels bigger than the input, batchnorm with
-- zero variance, a reshape of the latent vector directly, identity decoders.
BASES.odd = function()
  local m = {tensors = {}, dtype = "F32", latent = rng:range(1, 4)}
  local r = rng:int(5)
  if r == 1 then
    m.decoder = {}
    m.data_shape = {m.latent}
  elseif r == 2 then
    m.decoder = {obj("op", "reshape", "shape", {m.latent, 1, 1}), obj("op", "conv2d",
      "weight", lib.add_tensor(m, rng, "k", {1, m.latent, 3, 3}, 0.5))}
    m.data_shape = {1, 1, 1}
  elseif r == 3 then
    m.decoder = {obj("op", "reshape", "shape", {m.latent, 1, 1}), obj("op", "batchnorm",
      "mean", lib.add_tensor(m, rng, "mean", {m.latent}, 0.1), "var", "var", "eps", 0)}
    m.tensors[#m.tensors + 1] = {name = "var", dtype = "F32", shape = {m.latent}, values = {fill = 0, n = m.latent}}
    m.data_shape = {m.latent, 1, 1}
  elseif r == 4 then
    m.decoder = {obj("op", "flatten"), obj("op", "flatten"), obj("op", "reshape", "shape", {m.latent})}
    m.data_shape = {m.latent}
  else
    -- Weights with NaN, infinities and huge values, consistently stored.
    local n = rng:range(1, 5)
    local vals = {}
    for i = 1, n * m.latent do vals[i] = rng:pick({0 / 0, math.huge, -math.huge, 1e308, 3e38, 65504, 1e-45, 0}) end
    m.tensors[1] = {name = "w", dtype = rng:pick({"F32", "F64", "F16", "BF16"}), shape = {n, m.latent}, values = vals}
    m.decoder = {obj("op", "linear", "weight", "w"), obj("op", rng:pick(lib.activations))}
    m.data_shape = {n}
  end
  return m
end

local BASE_NAMES = {"mlp", "conv", "huge_convt", "huge_channels", "wide_linear", "many_layers", "huge_padding", "odd"}
local BASE_WEIGHTS = {36, 36, 6, 3, 3, 3, 4, 9}

------------------------------------------------------------------------------------------------
-- Structural mutations (on the model table).

local function any_layers(m)
  if m.encoder and rng:chance(0.3) then return m.encoder, "encoder" end
  return m.decoder, "decoder"
end
local function any_layer(m)
  local layers = any_layers(m)
  if #layers == 0 then return nil end
  return layers[rng:int(#layers)], layers
end
local function any_tensor(m)
  local real = {}
  for _, t in ipairs(m.tensors) do if t.shape and t.values then real[#real + 1] = t end end
  if #real == 0 then return nil end
  return real[rng:int(#real)]
end
local function set_key(o, k, v)
  if o[k] == nil and o._order then o._order[#o._order + 1] = k end
  o[k] = v
end
local function override(m, k, v)
  m.meta_override = m.meta_override or {}
  m.meta_override[k] = v
end

local STRUCT = {}

STRUCT.meta_format = function(m)
  override(m, "georepl.format", rng:pick({"2", "", "1.0", " 1", false, "0", weird_string()}))
end
STRUCT.meta_latent = function(m)
  override(m, "georepl.latent_dim", rng:pick({"0", "-1", "1e3", " 2 ", "2.0", "99999999999999999999", "9223372036854775807",
    "abc", "", tostring(m.latent + 1), tostring(math.max(1, m.latent - 1)), "100000000", false, "+2", "0x2", "2\0"}))
end
STRUCT.meta_shape = function(m)
  override(m, "georepl.data_shape", rng:pick({"[]", "[0]", "[-1]", "[1e9,1e9]", "[1,28,28", "{}", '["a"]',
    "[9223372036854775807,2]", "[1.5]", "[" .. (lib.count(m.data_shape) + 1) .. "]", string.rep("[", 5000) .. string.rep("]", 5000),
    "null", "", false, "[4294967296,4294967296]", "[1,1,1,1," .. lib.count(m.data_shape) .. "]",
    "[" .. lib.count(m.data_shape) .. "]"}))
end
STRUCT.meta_decoder = function(m)
  local r = rng:int(8)
  if r == 1 then m.decoder_text = "" elseif r == 2 then m.decoder_text = "{}"
  elseif r == 3 then m.decoder_text = "null" elseif r == 4 then m.decoder_text = "[1,2]"
  elseif r == 5 then m.decoder_text = lib.json(m.decoder):sub(1, rng:int(math.max(1, #lib.json(m.decoder))))
  elseif r == 6 then local n = rng:pick({257, 1000, 100000}) m.decoder_text = string.rep("[", n) .. string.rep("]", n)
  elseif r == 7 then override(m, "georepl.decoder", false)
  else m.decoder_text = lib.json(m.decoder) .. rng:pick({" x", ",", "]", "\0", " "}) end
end
STRUCT.meta_encoder = function(m)
  local r = rng:int(5)
  if r == 1 then m.encoder_text = "[]"
  elseif r == 2 then m.encoder_text = "{"
  elseif r == 3 then m.encoder_text = lib.json({obj("op", "flatten")})
  elseif r == 4 then m.encoder_text = string.rep("[", 300) .. string.rep("]", 300)
  else m.encoder_text = lib.json({obj("op", "linear", "weight", m.tensors[1] and m.tensors[1].name or "none")}) end
end
STRUCT.meta_name = function(m)
  m.name = rng:pick({long_name(10000), BAD_UTF8, "", ESC, "a\0b"})
  if rng:chance(0.5) then m.description = long_name(rng:pick({100, 100000})) end
end
STRUCT.meta_nonstring = function(m)
  override(m, rng:pick({"georepl.format", "georepl.latent_dim", "georepl.data_shape", "georepl.decoder", "georepl.name", "other"}),
           rng:pick({{__raw = "1"}, {__raw = "null"}, {__raw = "[1,2]"}, {__raw = "{}"}, {__raw = "true"}, weird_number_raw()}))
end
STRUCT.meta_notobject = function(m)
  m.metadata_raw = rng:pick({{__raw = "[]"}, {__raw = '"x"'}, {__raw = "1"}, {__raw = "null"}, {__raw = "[" .. lib.json_string("georepl.format") .. "]"}})
end
STRUCT.meta_dupkey = function(m)
  local meta = lib.metadata(m)
  local k = rng:pick(meta._order)
  local parts = {}
  for _, key in ipairs(meta._order) do parts[#parts + 1] = lib.json_string(key) .. ":" .. lib.json(meta[key]) end
  parts[#parts + 1] = lib.json_string(k) .. ":" .. lib.json(rng:chance(0.5) and meta[k] or "1")
  m.metadata_raw = {__raw = "{" .. table.concat(parts, ",") .. "}"}
end
STRUCT.meta_missing = function(m)
  override(m, rng:pick({"georepl.format", "georepl.latent_dim", "georepl.data_shape", "georepl.decoder"}), false)
end
STRUCT.meta_absent = function(m) m.metadata_raw = nil; m.no_metadata = true end

STRUCT.layer_unknown_op = function(m)
  local l = any_layer(m)
  if not l then return end
  l.op = rng:pick({"conv3d", "", "Linear", "linear ", long_name(10000), BAD_UTF8, ESC, {__raw = "1"}, {__raw = "null"},
                   {__raw = "[\"linear\"]"}, "__proto__", "relu\0"})
end
STRUCT.layer_missing_tensor = function(m)
  local l = any_layer(m)
  if not l then return end
  local r = rng:int(3)
  local keys = {"weight", "bias", "mean", "var"}
  local k = rng:pick(keys)
  if r == 1 then l[k] = nil
  elseif r == 2 then set_key(l, k, "no such tensor")
  else set_key(l, k, rng:pick({{__raw = "1"}, {__raw = "[]"}, {__raw = "{}"}, long_name(10000), ""})) end
end
STRUCT.layer_wrong_tensor = function(m)
  local l = any_layer(m)
  local t = any_tensor(m)
  if not l or not t then return end
  set_key(l, rng:pick({"weight", "bias", "mean", "var"}), t.name)
end
STRUCT.layer_extra_key = function(m)
  local l = any_layer(m)
  if not l then return end
  set_key(l, rng:pick({"dilation", "groups", "x", "", "op2", BAD_UTF8}), weird_value())
end
STRUCT.layer_not_object = function(m)
  local layers = any_layers(m)
  local i = rng:int(#layers + 1)
  layers[i] = rng:pick({{__raw = "1"}, {__raw = '"relu"'}, {__raw = "[]"}, {__raw = "null"}, obj(), obj("op", {__raw = "{}"})})
end
STRUCT.layer_dup = function(m)
  local layers = any_layers(m)
  if #layers == 0 then return end
  local i = rng:int(#layers)
  for _ = 1, rng:pick({1, 1, 2, 100}) do table.insert(layers, i, layers[i]) end
end
STRUCT.layer_delete = function(m)
  local layers = any_layers(m)
  if #layers == 0 then return end
  table.remove(layers, rng:int(#layers))
end
STRUCT.layer_swap = function(m)
  local layers = any_layers(m)
  if #layers < 2 then return end
  local i, j = rng:int(#layers), rng:int(#layers)
  layers[i], layers[j] = layers[j], layers[i]
end
STRUCT.layer_reshape = function(m)
  local layers = any_layers(m)
  local shape = rng:pick({{}, {0}, {-1}, {-4}, {2, 2}, {1, 1, 1, 1}, {2^62, 4}, {math.maxinteger}, {3, 0, 5},
                          {lib.count(m.data_shape) + 1}, {1, lib.count(m.data_shape)}, {{__raw = "1.5"}}, {"2"},
                          {2^31, 2^31, 2^31}, {-1, -1, 4}})
  local l = obj("op", "reshape", "shape", shape)
  if rng:chance(0.5) then
    for _, x in ipairs(layers) do if type(x) == "table" and x.op == "reshape" then x.shape = shape return end end
  end
  table.insert(layers, rng:int(#layers + 1), l)
  if rng:chance(0.2) then l.shape = rng:pick({{__raw = "null"}, {__raw = '"1,2"'}, {__raw = "{}"}, weird_value()}) end
end
STRUCT.layer_stride_pad = function(m)
  local cand = {}
  for _, layers in ipairs({m.decoder, m.encoder or {}}) do
    for _, l in ipairs(layers) do
      if type(l) == "table" and (l.op == "conv2d" or l.op == "conv_transpose2d") then cand[#cand + 1] = l end
    end
  end
  local l
  if #cand > 0 then l = rng:pick(cand)
  else
    -- Add a conv layer after a reshape to [1, 2, 2]-like shapes.
    local t = {name = "cw", dtype = "F32", shape = {1, 1, 1, 1}, values = {0.5}}
    m.tensors[#m.tensors + 1] = t
    l = obj("op", rng:chance(0.5) and "conv2d" or "conv_transpose2d", "weight", "cw")
    table.insert(m.decoder, l)
  end
  local key = rng:pick({"stride", "padding", "output_padding"})
  local v = rng:pick({0, -1, -2^62, 2^62, math.maxinteger, 2^31, 1000000, {1}, {1, 2, 3}, {0, 1}, {{__raw = "1.5"}, 1},
                      {__raw = "1.5"}, "2", {2^62, 2^62}, {math.maxinteger, math.maxinteger}, {-1, -1}, {3, 3}, {100, 100},
                      {__raw = "1e400"}, {__raw = "null"}})
  set_key(l, key, v)
end
STRUCT.layer_hyper = function(m)
  local layers = any_layers(m)
  local op = rng:pick({"leaky_relu", "elu", "softplus", "batchnorm"})
  local key = ({leaky_relu = "slope", elu = "alpha", softplus = "beta", batchnorm = "eps"})[op]
  local v = rng:pick({-1, 0, 1e308, -1e308, {__raw = "1e400"}, {__raw = "-1e400"}, {__raw = "NaN"}, "1", {__raw = "null"},
                      1e-320, 2^63, {}, -0.0, 1e-300})
  for _, l in ipairs(layers) do
    if type(l) == "table" and l.op == op then set_key(l, key, v) return end
  end
  if op ~= "batchnorm" then table.insert(layers, rng:int(#layers + 1), obj("op", op, key, v)) end
end
STRUCT.layers_empty = function(m)
  if rng:chance(0.7) then m.decoder = {} else m.encoder = {} end
end
STRUCT.layers_many = function(m)
  local n = rng:pick({1000, 10000, 50000})
  for _ = 1, n do m.decoder[#m.decoder + 1] = obj("op", rng:pick({"relu", "tanh", "flatten"})) end
end
STRUCT.tensor_dtype = function(m)
  local t = any_tensor(m)
  if not t then return end
  if rng:chance(0.5) then
    t.dtype = rng:pick(lib.dtypes)                          -- consistent re-encoding
  else
    t.dtype_label = rng:pick(lib.dtypes)                    -- label only: sizes disagree
  end
end
STRUCT.tensor_dtype_unknown = function(m)
  local t = any_tensor(m)
  if not t then return end
  t.dtype_label = rng:pick({"F8_E4M3", "f32", "", "F32 ", "C64", "F128", "I128", {__raw = "4"}, {__raw = "null"}, BAD_UTF8, long_name(10000)})
end
STRUCT.tensor_shape = function(m)
  local t = any_tensor(m)
  if not t then return end
  local r = rng:int(8)
  if r == 1 then
    -- A zero dimension, stored consistently (0 bytes).
    local shape = {}
    for i, s in ipairs(t.shape) do shape[i] = s end
    shape[rng:int(#shape)] = 0
    t.shape, t.values = shape, {}
  elseif r == 2 then
    local shape = {}
    for i, s in ipairs(t.shape) do shape[i] = s end
    shape[rng:int(#shape)] = shape[1] + 1
    t.shape_label = shape                                    -- disagrees with the offsets
  elseif r == 3 then t.shape_label = rng:pick({{2^62, 4}, {2^32, 2^32}, {math.maxinteger, 2}, {2^31, 2^31, 2^31, 2^31}, {3074457345618258603, 3}})
  elseif r == 4 then t.shape_label = rng:pick({{-1}, {{__raw = "1.5"}}, {"2"}, {__raw = '"2"'}, {__raw = "null"}, {{}}})
  elseif r == 5 then
    -- Scalars and reshaped-but-consistent tensors: the same bytes under another shape.
    local n = lib.count(t.shape)
    t.shape_label = rng:pick({{n}, {1, n}, {n, 1}, {}, {1, 1, 1, n}})
  elseif r == 6 then
    -- A transposed weight (consistent, wrong layout).
    if #t.shape == 2 then t.shape = {t.shape[2], t.shape[1]} end
  elseif r == 7 then
    -- A tensor declared huge with a tiny body, e.g. a linear layer with 10^9 outputs.
    t.shape_label = {1000000000, t.shape[#t.shape] or 1}
  else
    t.shape_label = {weird_number_raw()}
  end
end
STRUCT.tensor_offsets = function(m)
  local t = any_tensor(m)
  if not t then return end
  local sz = lib.count(t.shape) * (lib.dtype_size[t.dtype] or 4)
  t.offsets = rng:pick({{0, sz}, {sz, 0}, {-1, sz - 1}, {0, sz + 1}, {1, sz + 1}, {0, 2^62}, {2^62, 2^62 + sz},
                        {math.maxinteger - 1, math.maxinteger}, {0}, {0, sz, 0}, {{__raw = "0.5"}, sz}, {"0", tostring(sz)},
                        {__raw = "null"}, {{__raw = "1e400"}, {__raw = "1e400"}}, {0, {__raw = "18446744073709551615"}},
                        {sz * 1000, sz * 1001}, {{__raw = "-0"}, sz}})
end
STRUCT.tensor_overlap = function(m)
  local a, b = any_tensor(m), any_tensor(m)
  if not a or not b or a == b then return end
  local sza = lib.count(a.shape) * (lib.dtype_size[a.dtype] or 4)
  local szb = lib.count(b.shape) * (lib.dtype_size[b.dtype] or 4)
  a.offsets = {0, sza}
  local start = rng:pick({0, math.max(0, sza - 1), sza // 2})
  b.offsets = {start, start + szb}
end
STRUCT.tensor_values = function(m)
  local t = any_tensor(m)
  if not t or t.values.fill then return end
  for i = 1, #t.values do
    if rng:chance(0.5) then t.values[i] = rng:pick({0 / 0, math.huge, -math.huge, 1e308, -1e308, 1e-320, 65504, 3.4e38}) end
  end
end
STRUCT.tensor_dup_name = function(m)
  local t = any_tensor(m)
  if not t then return end
  local copy = {}
  for k, v in pairs(t) do copy[k] = v end
  table.insert(m.tensors, rng:int(#m.tensors + 1), copy)
end
STRUCT.tensor_extra = function(m)
  local r = rng:int(4)
  if r == 1 then
    m.tensors[#m.tensors + 1] = {name = "unused", dtype = "F32", shape = {3}, values = {1, 2, 3}}
  elseif r == 2 then
    m.tensors[#m.tensors + 1] = {name = "bad-entry", bytes = "", entry = weird_value()}
  elseif r == 3 then
    m.tensors[#m.tensors + 1] = {name = "extra", dtype = "F32", shape = {1}, values = {1}, extra = {[rng:pick({"x", "dtype2", ""})] = weird_value()}}
  else
    m.tensors[#m.tensors + 1] = {name = "__metadata__", dtype = "F32", shape = {1}, values = {1}}
  end
end
STRUCT.tensor_missing = function(m)
  if #m.tensors == 0 then return end
  table.remove(m.tensors, rng:int(#m.tensors))
end
STRUCT.tensor_weird_name = function(m)
  local t = any_tensor(m)
  if not t then return end
  local new = rng:pick({long_name(10000), BAD_UTF8, "", ESC, "a\0b", "__metadata__"})
  -- Rename the tensor and the layers' references to it.
  for _, layers in ipairs({m.decoder, m.encoder or {}}) do
    for _, l in ipairs(layers) do
      if type(l) == "table" then
        for _, k in ipairs({"weight", "bias", "mean", "var"}) do if l[k] == t.name then l[k] = new end end
      end
    end
  end
  t.name = new
end
STRUCT.encoder_bad = function(m)
  local r = rng:int(3)
  local D = lib.count(m.data_shape)
  if r == 1 then
    -- Fewer outputs than latent_dim.
    m.encoder = {obj("op", "flatten"), lib.linear(m, rng, "encbad", 0, D, math.max(1, m.latent - 1) == m.latent and 0 or m.latent - 1)}
  elseif r == 2 then
    -- Input of the wrong size.
    m.encoder = {obj("op", "flatten"), lib.linear(m, rng, "encbad", 0, D + 1, m.latent)}
  else
    -- A conv encoder on a vector input.
    m.encoder = {obj("op", "conv2d", "weight", lib.add_tensor(m, rng, "encbad.w", {1, 1, 1, 1}, 0.5)), obj("op", "flatten")}
  end
end
STRUCT.header_order = function(m) m.st_opts = {metadata_last = true, no_pad = rng:chance(0.5)} end

local STRUCT_NAMES = {}
for k in pairs(STRUCT) do STRUCT_NAMES[#STRUCT_NAMES + 1] = k end
table.sort(STRUCT_NAMES)

------------------------------------------------------------------------------------------------
-- Byte-level mutations: (bytes, header text) -> bytes.

local function with_header(text, rest)
  return string.pack("<I8", #text) .. text .. rest
end
local function split(bytes)
  if #bytes < 8 then return nil end
  local n = string.unpack("<i8", bytes)
  if n < 0 or n > #bytes - 8 then return nil end
  return bytes:sub(9, 8 + n), bytes:sub(9 + n)
end

local BYTES = {}

BYTES.hl_zero = function(b) return string.pack("<I8", 0) .. b:sub(9) end
BYTES.hl_past_eof = function(b) return string.pack("<I8", #b - 8 + rng:pick({1, 2, 1000})) .. b:sub(9) end
BYTES.hl_huge = function(b) return string.pack("<i8", rng:pick({math.mininteger, -1, math.maxinteger, 2^40, 2^32})) .. b:sub(9) end
BYTES.hl_small = function(b)
  local h, rest = split(b)
  if not h then return b end
  return string.pack("<I8", math.max(0, #h - rng:range(1, math.max(1, #h)))) .. b:sub(9)
end
BYTES.hl_large = function(b)
  local h, rest = split(b)
  if not h then return b end
  return string.pack("<I8", #h + rng:range(1, math.max(1, #rest))) .. b:sub(9)
end
BYTES.json_truncate = function(b)
  local h, rest = split(b)
  if not h then return b end
  return with_header(h:sub(1, rng:int(math.max(1, #h))), rest)
end
BYTES.json_invalid_utf8 = function(b)
  local h, rest = split(b)
  if not h then return b end
  local quotes = {}
  for i in h:gmatch("()\"") do quotes[#quotes + 1] = i end
  if #quotes == 0 then return b end
  local i = rng:pick(quotes)
  local ins = rng:pick({"\255", "\254\255", "\192\128", "\237\160\128", "\240\144\128", "\128", "\244\144\128\128", "\0"})
  return with_header(h:sub(1, i) .. ins .. h:sub(i + 1), rest)
end
BYTES.json_deep = function(b)
  local h, rest = split(b)
  if not h then return b end
  local n = rng:pick({255, 256, 257, 1000, 100000, 1000000})
  local deep = string.rep("[", n) .. string.rep("]", n)
  local r = rng:int(3)
  local new
  if r == 1 then new = h:gsub('"shape":%b[]', '"shape":' .. deep, 1)
  elseif r == 2 then new = "{\"deep\":" .. deep .. "," .. h:sub(2)
  else new = h:gsub('"data_offsets":%b[]', '"data_offsets":' .. string.rep("{\"a\":", n // 10 + 1) .. "1" .. string.rep("}", n // 10 + 1), 1) end
  return with_header(new, rest)
end
BYTES.json_dupkey = function(b)
  local h, rest = split(b)
  if not h then return b end
  local entries = {}
  for s, e in h:gmatch('()"[^"]*":%b{}()') do entries[#entries + 1] = {s, e} end
  if #entries == 0 then return b end
  local e = rng:pick(entries)
  local piece = h:sub(e[1], e[2] - 1)
  return with_header(h:sub(1, e[2] - 1) .. "," .. piece .. h:sub(e[2]), rest)
end
BYTES.json_numbers = function(b)
  local h, rest = split(b)
  if not h then return b end
  local nums = {}
  for s, e in h:gmatch("()%d+()") do nums[#nums + 1] = {s, e} end
  if #nums == 0 then return b end
  local e = rng:pick(nums)
  return with_header(h:sub(1, e[1] - 1) .. weird_number_raw().__raw .. h:sub(e[2]), rest)
end
BYTES.json_types = function(b)
  local h, rest = split(b)
  if not h then return b end
  local key = rng:pick({'"dtype":', '"shape":', '"data_offsets":', '"__metadata__":'})
  local s, e = h:find(key, 1, true)
  if not s then return b end
  -- Replace the value after the key with a value of another type.
  local after = h:sub(e + 1)
  local vlen = after:match('^%b""()') or after:match("^%b[]()") or after:match("^%b{}()") or after:match("^[^,}]*()")
  local new = rng:pick({"1", '"x"', "[]", "{}", "null", "true", "[[1]]", '["F32"]', '{"a":1}'})
  return with_header(h:sub(1, e) .. new .. after:sub(vlen), rest)
end
BYTES.json_garbage = function(b)
  local h, rest = split(b)
  if not h then return b end
  local r = rng:int(6)
  if r == 1 then h = "\239\187\191" .. h
  elseif r == 2 then h = h .. rng:pick({"x", "}", ",", "\0", "{}", "  \n\t"})
  elseif r == 3 then h = " \n\t\r" .. h
  elseif r == 4 then local i = rng:int(math.max(1, #h)) h = h:sub(1, i) .. "\0" .. h:sub(i + 1)
  elseif r == 5 then h = ""
  else h = rng:pick({"[]", "null", "1", '"x"', "{", "}", "{\"a\"}", "{\"a\":}", "{,}"}) end
  return with_header(h, rest)
end
BYTES.json_escapes = function(b)
  local h, rest = split(b)
  if not h then return b end
  local quotes = {}
  for i in h:gmatch("()\"") do quotes[#quotes + 1] = i end
  if #quotes == 0 then return b end
  local i = rng:pick(quotes)
  local ins = rng:pick({"\\u0000", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\uZZZZ", "\\x41", "\\", "\\u12", "\\uD83D\\uDE00", "\\/", "\\U0041"})
  return with_header(h:sub(1, i) .. ins .. h:sub(i + 1), rest)
end
BYTES.truncate = function(b)
  local r = rng:int(4)
  if r == 1 then return b:sub(1, rng:range(0, 8)) end
  return b:sub(1, rng:range(0, math.max(0, #b - 1)))
end
BYTES.byteflip = function(b)
  if #b == 0 then return b end
  local t = {}
  local n = rng:pick({1, 1, 2, 4, 8, 32})
  local pos = {}
  for _ = 1, n do pos[rng:int(#b)] = true end
  local parts, last = {}, 1
  local keys = {}
  for p in pairs(pos) do keys[#keys + 1] = p end
  table.sort(keys)
  for _, p in ipairs(keys) do
    parts[#parts + 1] = b:sub(last, p - 1)
    local bit = 1 << rng:range(0, 7)
    parts[#parts + 1] = string.char(b:byte(p) ~ (rng:chance(0.7) and bit or rng:range(1, 255)))
    last = p + 1
  end
  parts[#parts + 1] = b:sub(last)
  return table.concat(parts)
end
BYTES.append = function(b) return b .. string.rep(rng:pick({"\0", "x", "\255"}), rng:pick({1, 7, 8, 1000})) end
BYTES.empty = function() return rng:pick({"", "\0", string.rep("\0", 8), string.rep("\255", 8), "{}"}) end

local BYTES_NAMES = {}
for k in pairs(BYTES) do BYTES_NAMES[#BYTES_NAMES + 1] = k end
table.sort(BYTES_NAMES)

------------------------------------------------------------------------------------------------
-- Building one file.

local function available(list)
  local out = {}
  for _, n in ipairs(list) do if not SKIP[n] then out[#out + 1] = n end end
  return out
end
local STRUCT_AVAIL = available(STRUCT_NAMES)
local BYTES_AVAIL = available(BYTES_NAMES)
local BASE_AVAIL, BASE_W = {}, {}
for i, n in ipairs(BASE_NAMES) do
  if not SKIP[n] then BASE_AVAIL[#BASE_AVAIL + 1] = n; BASE_W[#BASE_W + 1] = BASE_WEIGHTS[i] end
end

local function make_file()
  local kind = BASE_AVAIL[rng:weighted(BASE_W)]
  local m = BASES[kind]()
  local muts = {}
  local nmut = rng:chance(0.15) and 0 or rng:weighted({55, 30, 15})
  local byte_muts = {}
  for _ = 1, nmut do
    if #BYTES_AVAIL > 0 and (rng:chance(0.3) or #STRUCT_AVAIL == 0) then
      byte_muts[#byte_muts + 1] = rng:pick(BYTES_AVAIL)
    elseif #STRUCT_AVAIL > 0 then
      local name = rng:pick(STRUCT_AVAIL)
      if DEBUG then io.stderr:write("model.lua: ", kind, " + ", name, "\n") end
      STRUCT[name](m)
      muts[#muts + 1] = name
    end
  end
  local bytes
  if m.no_metadata then bytes = lib.safetensors(m.tensors, nil, m.st_opts)
  else bytes = lib.model_bytes(m) end
  for _, name in ipairs(byte_muts) do
    bytes = BYTES[name](bytes)
    muts[#muts + 1] = name
  end
  return kind, muts, bytes, m
end

------------------------------------------------------------------------------------------------
-- Checks.

local counts = {files = 0, loaded = 0, error = 0, unclear = 0, interrupted = 0, ops = 0, op_ok = 0, op_error = 0,
                op_unclear = 0, slow = 0}
local by_mutation = {}
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
  finish(outcome == "ok" and "ok" or outcome, note, dt, ok, e)
  return ok and e or nil
end

local function exercise(k, m)
  local d = m.latent_dim
  if type(d) ~= "number" or d < 1 then return end
  op(k, "fields", function() return tostring(m), m.name, m.description, m.data_dim, m.data_shape, m.has_encoder end)
  local z0 = op(k, "zeros", geo.zeros, d)
  local z = geo.randn(d, k)
  op(k, "decode", m.decode, m, z0 or z)
  op(k, "decode", m.decode, m, z)
  op(k, "jacobian", m.jacobian, m, z)
  op(k, "metric", m.metric, m, z)
  op(k, "volume", m.volume, m, z)
  op(k, "singular_values", m.singular_values, m, z)
  if m.has_encoder then
    local D = m.data_dim
    if type(D) == "number" and D <= 10000000 then
      local x = op(k, "zeros", geo.zeros, D)
      if x then op(k, "encode", m.encode, m, x) end
    end
  end
  if rng:chance(0.5) then
    local b = geo.randn(d, k + 1)
    op(k, "line", function() local p = geo.line(m, z, b, {points = 3}) return p:length(), p:energy() end)
    -- The iterative algorithms only on moderate networks (the huge ones are about allocation).
    if type(m.data_dim) ~= "number" or m.data_dim > 100000 then return end
    if rng:chance(0.4) then op(k, "geodesic", geo.geodesic, m, z, b, {points = 4, max_iter = 3}) end
    if d >= 2 and rng:chance(0.3) then
      local u, v = geo.zeros(d):totable(), geo.zeros(d):totable()
      u[1], v[2] = 1, 1
      op(k, "sectional", geo.sectional, m, z, geo.vec(u), geo.vec(v))
    end
    if d <= 4 and rng:chance(0.2) then op(k, "scalar", geo.scalar, m, z) end
    if rng:chance(0.2) then op(k, "exp", geo.exp, m, z, b * 0.1, {steps = 3}) end
  end
end

local function one_file(k)
  rng = lib.rng(SEED, k)
  local path = string.format("%s/%d-%d.safetensors", DIR, SEED, k)
  log:begin(k, "model")
  local kind, muts, bytes = make_file()
  lib.write_file(path, bytes)
  log:part(string.format("%s [%s] %d bytes %s", kind, table.concat(muts, ","), #bytes, path))
  local t0 = clock()
  local ok, m = pcall(geo.load, path)
  local dt = clock() - t0
  local outcome, note = classify(ok, m)
  if outcome == "ok" then outcome = "loaded" end
  counts.files = counts.files + 1
  counts[outcome] = counts[outcome] + 1
  if dt > 5 then counts.slow = counts.slow + 1 end
  local key = #muts == 0 and "(none)" or muts[1]
  by_mutation[key] = by_mutation[key] or {files = 0, loaded = 0}
  by_mutation[key].files = by_mutation[key].files + 1
  if outcome == "loaded" then by_mutation[key].loaded = by_mutation[key].loaded + 1 end
  finish(outcome, note, dt, ok, m)
  if outcome == "interrupted" then stop = true end
  local unclear_before = counts.op_unclear
  if ok and not stop then exercise(k, m) end
  m = nil
  if not KEEP and outcome ~= "unclear" and counts.op_unclear == unclear_before then os.remove(path) end
end

------------------------------------------------------------------------------------------------
-- Main loop (as in api.lua: an interruption ends the run; the summary says where to resume).

local nextk = FIRST
local internal_errors = 0
local function run()
  while nextk <= COUNT and not stop do
    local k = nextk
    nextk = k + 1
    one_file(k)
    if k % 50 == 0 then collectgarbage() end
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
      io.stderr:write("model.lua: internal error at file " .. (nextk - 1) .. ": " .. tostring(e) .. "\n")
      if internal_errors > 20 then error("model.lua: too many internal errors") end
    end
  end
end

local names = {}
for k in pairs(by_mutation) do names[#names + 1] = k end
table.sort(names)
local parts = {}
for _, k in ipairs(names) do parts[#parts + 1] = string.format("%s=%d/%d", k, by_mutation[k].loaded, by_mutation[k].files) end
print("loaded/files by first mutation: " .. table.concat(parts, " "))
print(string.format("model: seed %d files %d loaded %d errors %d unclear %d interrupted %d ops %d op_errors %d op_unclear %d slow %d next %d",
  SEED, counts.files, counts.loaded, counts.error, counts.unclear, counts.interrupted, counts.ops, counts.op_error,
  counts.op_unclear, counts.slow, nextk))
