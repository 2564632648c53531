-- scripts/fuzz/repro_huge.lua: writes huge.safetensors (the model of finding 2)
local function f32(t) local b = {} for i, x in ipairs(t) do b[i] = string.pack("<f", x) end return table.concat(b) end
local dec = '[{"op":"linear","weight":"w"},{"op":"reshape","shape":[1,2,2]},'
         .. '{"op":"conv_transpose2d","weight":"k","stride":[2698,15002]}]'
local h = '{"__metadata__":{"georepl.format":"1","georepl.latent_dim":"2","georepl.data_shape":"[1,2700,15004]",'
       .. '"georepl.decoder":"' .. dec:gsub('"', '\\"') .. '"},'
       .. '"w":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]},"k":{"dtype":"F32","shape":[1,1,2,2],"data_offsets":[32,48]}}'
local f = assert(io.open(arg[1] or "huge.safetensors", "wb"))
f:write(string.pack("<I8", #h), h, f32{1, 0, 0, 1, 1, 1, 0, 0}, f32{1, 1, 1, 1})
f:close()
