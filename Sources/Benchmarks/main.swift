import GeoEngine
print("georepl-bench: no benchmarks yet")
