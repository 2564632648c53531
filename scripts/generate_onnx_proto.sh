#!/usr/bin/env bash
# Regenerates Sources/ONNXProto/onnx.pb.swift, the Swift types of ONNX's protobuf schema, from
# the onnx.proto that Debian's libonnx-dev installs, with protoc (protobuf-compiler) and the
# protoc-gen-swift plugin of the swift-protobuf version the package depends on (1.39.0). The
# generated file is committed: building the plugin takes minutes, and CI never needs it.
#     apt-get install libonnx-dev protobuf-compiler
#     scripts/generate_onnx_proto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q --branch 1.39.0 https://github.com/apple/swift-protobuf "$work/swift-protobuf"
(cd "$work/swift-protobuf" && swift build -c release --product protoc-gen-swift >&2)
protoc --plugin=protoc-gen-swift="$work/swift-protobuf/.build/release/protoc-gen-swift" \
       --swift_out="$work" --swift_opt=Visibility=Public --proto_path=/usr/include/onnx /usr/include/onnx/onnx.proto
cp "$work/onnx.pb.swift" Sources/ONNXProto/onnx.pb.swift
echo "wrote Sources/ONNXProto/onnx.pb.swift (from $(dpkg-query -W -f='libonnx-dev ${Version}' libonnx-dev))"
