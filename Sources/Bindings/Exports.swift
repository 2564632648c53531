@_exported import GeoEngine
