-- A small protobuf encoder and decoder for the ONNX fuzzer (scripts/fuzz/onnx.lua), driven by
-- the field numbers of ONNX's schema (onnx.proto of ONNX 1.12, /usr/include/onnx/onnx.proto):
-- ModelProto, GraphProto, NodeProto, TensorProto, AttributeProto, ValueInfoProto, TypeProto,
-- TensorShapeProto, OperatorSetIdProto, StringStringEntryProto and the rest of what a model
-- can hold (SparseTensorProto, TrainingInfoProto, FunctionProto).
--
--     local P = dofile(here .. "/onnxproto.lua")
--     local msg = {ir_version = 8, opset_import = {{domain = "", version = 17}}, graph = {...}}
--     local tree = P.tree(msg, "Model")      -- wire-level fields, mutable
--     local bytes = P.serialize(tree)
--     local back = P.decode(bytes, "Model")   -- schema-driven (unknown fields are dropped)
--
-- Messages are Lua tables keyed by the schema's field names; repeated fields are lists. The
-- tree is a list of entries {f = field number, w = wire type, v = value}: v is an integer
-- (varint), a string (fixed32/fixed64 bytes, or a length-delimited payload) or a nested tree
-- (a sub-message; `m` names its type). Entries may carry mutations that serialize() honours:
-- `long = n` (a varint, or a length, written with n redundant continuation bytes: n >= 10 gives
-- an over-long varint), `len = n` (the length written instead of the payload's), `raw = s`
-- (the bytes written after the key instead of the value), `group = true` (a sub-message written
-- as a group, wire types 3 and 4).

local P = {}

------------------------------------------------------------------------------------------------
-- Integers.

--- A Lua integer for a number: floats beyond the int64 range saturate, NaN is 0.
function P.int(x)
  if math.type(x) == "integer" then return x end
  if type(x) ~= "number" then return 0 end
  if x ~= x then return 0 end
  if x >= 2^63 then return math.maxinteger end
  if x < -2^63 then return math.mininteger end
  return math.tointeger(math.floor(x)) or 0
end

--- The varint bytes of a 64-bit integer (negative: 10 bytes, two's complement); `extra`
--- redundant continuation bytes make an over-long encoding of the same value.
function P.varint(x, extra)
  x = P.int(x)
  local t = {}
  repeat
    local b = x & 0x7F
    x = x >> 7
    t[#t + 1] = x ~= 0 and (b | 0x80) or b
  until x == 0
  if extra and extra > 0 then
    t[#t] = t[#t] | 0x80
    for _ = 1, extra - 1 do t[#t + 1] = 0x80 end
    t[#t + 1] = 0
  end
  return string.char(table.unpack(t))
end

------------------------------------------------------------------------------------------------
-- The schema: per message type, its fields {num, name, kind, rep, packed, msg}.
-- Kinds: int (int32/int64/uint64/enum varints), float (fixed32), double (fixed64), bytes
-- (string/bytes), msg.

local S = {}
P.schema = S
local function F(num, name, kind, opts)
  opts = opts or {}
  return {num = num, name = name, kind = kind, rep = opts.rep or false, packed = opts.packed or false, msg = opts.msg}
end
local function M(name) return {msg = name} end
local function R(name) return {msg = name, rep = true} end
local REP, PACKED = {rep = true}, {rep = true, packed = true}

S.Model = {F(1, "ir_version", "int"), F(2, "producer_name", "bytes"), F(3, "producer_version", "bytes"),
  F(4, "domain", "bytes"), F(5, "model_version", "int"), F(6, "doc_string", "bytes"), F(7, "graph", "msg", M"Graph"),
  F(8, "opset_import", "msg", R"OpsetId"), F(14, "metadata_props", "msg", R"Entry"),
  F(20, "training_info", "msg", R"TrainingInfo"), F(25, "functions", "msg", R"Function")}
S.Graph = {F(1, "node", "msg", R"Node"), F(2, "name", "bytes"), F(5, "initializer", "msg", R"Tensor"),
  F(15, "sparse_initializer", "msg", R"Sparse"), F(10, "doc_string", "bytes"), F(11, "input", "msg", R"ValueInfo"),
  F(12, "output", "msg", R"ValueInfo"), F(13, "value_info", "msg", R"ValueInfo"),
  F(14, "quantization_annotation", "msg", R"TensorAnnotation")}
S.Node = {F(1, "input", "bytes", REP), F(2, "output", "bytes", REP), F(3, "name", "bytes"), F(4, "op_type", "bytes"),
  F(7, "domain", "bytes"), F(5, "attribute", "msg", R"Attr"), F(6, "doc_string", "bytes")}
S.Attr = {F(1, "name", "bytes"), F(21, "ref_attr_name", "bytes"), F(13, "doc_string", "bytes"), F(20, "type", "int"),
  F(2, "f", "float"), F(3, "i", "int"), F(4, "s", "bytes"), F(5, "t", "msg", M"Tensor"), F(6, "g", "msg", M"Graph"),
  F(22, "sparse_tensor", "msg", M"Sparse"), F(14, "tp", "msg", M"Type"), F(7, "floats", "float", REP),
  F(8, "ints", "int", REP), F(9, "strings", "bytes", REP), F(10, "tensors", "msg", R"Tensor"),
  F(11, "graphs", "msg", R"Graph"), F(23, "sparse_tensors", "msg", R"Sparse"), F(15, "type_protos", "msg", R"Type")}
S.Tensor = {F(1, "dims", "int", REP), F(2, "data_type", "int"), F(3, "segment", "msg", M"Segment"),
  F(4, "float_data", "float", PACKED), F(5, "int32_data", "int", PACKED), F(6, "string_data", "bytes", REP),
  F(7, "int64_data", "int", PACKED), F(8, "name", "bytes"), F(12, "doc_string", "bytes"), F(9, "raw_data", "bytes"),
  F(13, "external_data", "msg", R"Entry"), F(14, "data_location", "int"), F(10, "double_data", "double", PACKED),
  F(11, "uint64_data", "int", PACKED)}
S.Segment = {F(1, "begin", "int"), F(2, "end", "int")}
S.Sparse = {F(1, "values", "msg", M"Tensor"), F(2, "indices", "msg", M"Tensor"), F(3, "dims", "int", REP)}
S.ValueInfo = {F(1, "name", "bytes"), F(2, "type", "msg", M"Type"), F(3, "doc_string", "bytes")}
S.Type = {F(1, "tensor_type", "msg", M"TypeTensor"), F(4, "sequence_type", "msg", M"TypeSeq"),
  F(5, "map_type", "msg", M"TypeMap"), F(8, "sparse_tensor_type", "msg", M"TypeTensor"),
  F(9, "optional_type", "msg", M"TypeSeq"), F(6, "denotation", "bytes")}
S.TypeTensor = {F(1, "elem_type", "int"), F(2, "shape", "msg", M"Shape")}
S.TypeSeq = {F(1, "elem_type", "msg", M"Type")}
S.TypeMap = {F(1, "key_type", "int"), F(2, "value_type", "msg", M"Type")}
S.Shape = {F(1, "dim", "msg", R"Dim")}
S.Dim = {F(1, "dim_value", "int"), F(2, "dim_param", "bytes"), F(3, "denotation", "bytes")}
S.OpsetId = {F(1, "domain", "bytes"), F(2, "version", "int")}
S.Entry = {F(1, "key", "bytes"), F(2, "value", "bytes")}
S.TensorAnnotation = {F(1, "tensor_name", "bytes"), F(2, "quant_parameter_tensor_names", "msg", R"Entry")}
S.TrainingInfo = {F(1, "initialization", "msg", M"Graph"), F(2, "algorithm", "msg", M"Graph"),
  F(3, "initialization_binding", "msg", R"Entry"), F(4, "update_binding", "msg", R"Entry")}
S.Function = {F(1, "name", "bytes"), F(4, "input", "bytes", REP), F(5, "output", "bytes", REP),
  F(6, "attribute", "bytes", REP), F(7, "node", "msg", R"Node"), F(8, "doc_string", "bytes"),
  F(9, "opset_import", "msg", R"OpsetId"), F(10, "domain", "bytes")}

-- By number, for decoding.
local BYNUM = {}
for name, fields in pairs(S) do
  BYNUM[name] = {}
  for _, f in ipairs(fields) do BYNUM[name][f.num] = f end
end

------------------------------------------------------------------------------------------------
-- Encoding: message table -> tree -> bytes.

local function scalar_entry(f, x)
  if f.kind == "float" then return {f = f.num, w = 5, v = string.pack("<f", x)}
  elseif f.kind == "double" then return {f = f.num, w = 1, v = string.pack("<d", x)}
  elseif f.kind == "bytes" then return {f = f.num, w = 2, v = tostring(x)}
  else return {f = f.num, w = 0, v = P.int(x)} end
end

local function packed_bytes(f, list)
  local parts = {}
  for i, x in ipairs(list) do
    if f.kind == "float" then parts[i] = string.pack("<f", x)
    elseif f.kind == "double" then parts[i] = string.pack("<d", x)
    else parts[i] = P.varint(x) end
  end
  return table.concat(parts)
end

--- The tree of message `msg` of type `tname`. Fields named `_packed_<name>` = true/false force
--- the packed or unpacked form of a repeated scalar field.
function P.tree(msg, tname)
  local fields = S[tname]
  assert(fields, "unknown message type " .. tostring(tname))
  local out = {m = tname}
  for _, f in ipairs(fields) do
    local v = msg[f.name]
    if v ~= nil then
      if f.rep then
        assert(type(v) == "table", "field " .. tname .. "." .. f.name .. " must be a list")
        if f.kind == "msg" then
          for _, x in ipairs(v) do out[#out + 1] = {f = f.num, w = 2, v = P.tree(x, f.msg)} end
        else
          local packed = f.packed
          if msg["_packed_" .. f.name] ~= nil then packed = msg["_packed_" .. f.name] end
          if packed and f.kind ~= "bytes" then
            if #v > 0 then out[#out + 1] = {f = f.num, w = 2, v = packed_bytes(f, v)} end
          else
            for _, x in ipairs(v) do out[#out + 1] = scalar_entry(f, x) end
          end
        end
      elseif f.kind == "msg" then
        out[#out + 1] = {f = f.num, w = 2, v = P.tree(v, f.msg)}
      else
        out[#out + 1] = scalar_entry(f, v)
      end
    end
  end
  return out
end

local serialize
local function entry_bytes(e)
  local key = P.varint((P.int(e.f) << 3) | (e.w & 7), e.keylong)
  if e.raw then return key .. e.raw end
  local w = e.w
  if e.group and type(e.v) == "table" then
    return P.varint((P.int(e.f) << 3) | 3) .. serialize(e.v) .. P.varint((P.int(e.f) << 3) | 4)
  end
  local v = e.v
  if type(v) == "table" then v = serialize(v) end
  if w == 0 then
    if type(v) == "string" then return key .. v end
    return key .. P.varint(v, e.long)
  elseif w == 2 then
    if type(v) ~= "string" then v = P.varint(v) end
    return key .. P.varint(e.len or #v, e.long) .. v
  else
    -- fixed32, fixed64, groups and the invalid wire types 6 and 7: the bytes as they are.
    if type(v) ~= "string" then v = P.varint(v) end
    return key .. v
  end
end

serialize = function(tree)
  local parts = {}
  for i, e in ipairs(tree) do parts[i] = entry_bytes(e) end
  return table.concat(parts)
end
P.serialize = serialize

--- Bytes of a message table (no mutations).
function P.encode(msg, tname) return serialize(P.tree(msg, tname)) end

--- Every entry of a tree, depth first: a list of {entry, parent tree, index, depth}.
function P.entries(tree, out, depth)
  out = out or {}
  depth = depth or 0
  for i, e in ipairs(tree) do
    out[#out + 1] = {e = e, parent = tree, i = i, depth = depth}
    if type(e.v) == "table" then P.entries(e.v, out, depth + 1) end
  end
  return out
end

------------------------------------------------------------------------------------------------
-- Decoding (schema-driven, for the shipped fixtures): bytes -> message table. Unknown fields
-- and fields of an unexpected wire type are dropped; errors raise.

local function read_varint(s, pos)
  local x, shift = 0, 0
  while true do
    local b = s:byte(pos)
    if not b then error("truncated varint") end
    pos = pos + 1
    if shift < 64 then x = x | ((b & 0x7F) << shift) end
    shift = shift + 7
    if b < 0x80 then return x, pos end
    if shift > 70 then error("varint too long") end
  end
end
P.read_varint = read_varint

local function decode(s, tname, i, j)
  local fields = BYNUM[tname]
  local msg = {}
  local pos = i
  while pos <= j do
    local key
    key, pos = read_varint(s, pos)
    local num, w = key >> 3, key & 7
    local f = fields[num]
    local val
    if w == 0 then
      val, pos = read_varint(s, pos)
    elseif w == 1 then
      val = s:sub(pos, pos + 7); pos = pos + 8
    elseif w == 5 then
      val = s:sub(pos, pos + 3); pos = pos + 4
    elseif w == 2 then
      local n
      n, pos = read_varint(s, pos)
      if n < 0 or pos + n - 1 > j then error("length past the end") end
      val = {pos, pos + n - 1}
      pos = pos + n
    else
      error("unsupported wire type " .. w)
    end
    if pos > j + 1 then error("truncated field") end
    if f then
      local x
      if f.kind == "msg" and w == 2 then
        x = decode(s, f.msg, val[1], val[2])
      elseif f.kind == "bytes" and w == 2 then
        x = s:sub(val[1], val[2])
      elseif f.kind == "int" and w == 0 then
        x = val
      elseif f.kind == "float" and w == 5 then
        x = string.unpack("<f", val)
      elseif f.kind == "double" and w == 1 then
        x = string.unpack("<d", val)
      elseif f.rep and w == 2 and f.kind ~= "bytes" and f.kind ~= "msg" then
        -- Packed scalars.
        local list = msg[f.name] or {}
        local p, e = val[1], val[2]
        while p <= e do
          local y
          if f.kind == "float" then y = string.unpack("<f", s, p); p = p + 4
          elseif f.kind == "double" then y = string.unpack("<d", s, p); p = p + 8
          else y, p = read_varint(s, p) end
          list[#list + 1] = y
        end
        msg[f.name] = list
      end
      if x ~= nil then
        if f.rep then
          local list = msg[f.name] or {}
          list[#list + 1] = x
          msg[f.name] = list
        else
          msg[f.name] = x
        end
      end
    end
  end
  return msg
end

function P.decode(s, tname) return decode(s, tname, 1, #s) end

------------------------------------------------------------------------------------------------
-- ONNX helpers.

P.FLOAT, P.UINT8, P.INT8, P.UINT16, P.INT16, P.INT32, P.INT64, P.STRING, P.BOOL = 1, 2, 3, 4, 5, 6, 7, 8, 9
P.FLOAT16, P.DOUBLE, P.UINT32, P.UINT64, P.COMPLEX64, P.COMPLEX128, P.BFLOAT16 = 10, 11, 12, 13, 14, 15, 16
-- AttributeProto.AttributeType
P.A_FLOAT, P.A_INT, P.A_STRING, P.A_TENSOR, P.A_GRAPH, P.A_FLOATS, P.A_INTS, P.A_STRINGS = 1, 2, 3, 4, 5, 6, 7, 8
P.A_TENSORS, P.A_GRAPHS, P.A_SPARSE, P.A_SPARSES, P.A_TYPE, P.A_TYPES = 9, 10, 11, 12, 13, 14

return P
