import XCTest
import Foundation
@testable import Bindings
import GeoEngine

final class DataTests: LuaTestCase {
    func testFashionMNISTFromLua() throws {
        try requireFashionMNIST()
        XCTAssertEqual(eval("#ds, ds:label(1), ds:class(1), ds.classes[0], ds.split, #ds[1], ds[0], ds[10001]"),
                       ["10000", "9", "Ankle boot", "T-shirt/top", "test", "784", "nil", "nil"])
        XCTAssertEqual(value("#geo.dataset('fashion-mnist')"), "60000")
        let range = eval("(function() local lo, hi = 1, 0 for _, x in ipairs(ds[1]) do lo = math.min(lo, x) hi = math.max(hi, x) end return lo, hi end)()")
        XCTAssertEqual(range, ["0.0", "1.0"])
        assertError("geo.dataset('mnist')", "unknown data set 'mnist' (known: fashion-mnist)")
        assertError("geo.dataset('fashion-mnist', {split = 'val'})",
                    "bad argument #2 to 'dataset' (option 'split' must be one of \"train\", \"test\", got \"val\")")
        assertError("ds:label(0)", "bad argument #1 to 'label' (index 0 is out of range (1 to 10000))")
        assertError("ds:label(1e9)", "bad argument #1 to 'label' (index 1000000000 is out of range (1 to 10000))")
    }

    func testSavePNGWritesAGridThatReadsBack() throws {
        let path = NSTemporaryDirectory() + "/georepl-grid-\(getpid()).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        lua.run("a = geo.zeros(4) b = geo.vec{1, 1, 1, 1}")
        XCTAssertNil(lua.run("geo.save_png('\(path)', {a, b, a}, {cols = 3, separator = 1})"))
        let img = try PNG.read(path)
        XCTAssertEqual(img.width, 3 * 2 + 2); XCTAssertEqual(img.height, 2)
        XCTAssertEqual(img.pixel(x: 0, y: 0), [0]); XCTAssertEqual(img.pixel(x: 3, y: 1), [255])
        // A Path is decoded on its manifold; a shape option overrides.
        XCTAssertNil(lua.run("geo.save_png('\(path)', geo.line(geo.plane{dim = 3}, geo.vec{0, 0, 0}, geo.vec{1, 1, 1}, {points = 3}), {shape = {1, 2, 2}})"))
        XCTAssertEqual(try PNG.read(path).width, 2 * 2 + 1)   // default cols = ceil(sqrt(3))
        assertError("geo.save_png('\(path)', {})", "bad argument #2 to 'save_png' (no images to save)")
        assertError("geo.save_png('\(path)', {a, 3})", "bad argument #2 to 'save_png' (entry 2 is a number, geo.Vector expected)")
        assertError("geo.save_png('\(path)', 7)", "bad argument #2 to 'save_png' (geo.Vector, table or geo.Path expected, got number)")
        assertError("geo.save_png('\(path)', geo.vec{1, 2, 3})",
                    "data shape [3] is not an image: 3 values are not a square gray image (give a shape [C,H,W])")
        assertError("geo.save_png('/nonexistent/dir/x.png', a)", "cannot write '/nonexistent/dir/x.png': No such file or directory")
        assertError("geo.save_png('\(path)', a, {cols = 0})", "bad argument #3 to 'save_png' (option 'cols' must be an integer from 1 to 10000, got 0)")
    }

    func testLatentMap() throws {
        let path = NSTemporaryDirectory() + "/georepl-latent-\(getpid()).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertNil(lua.run("s = geo.saddle{} geo.latent_map(s, '\(path)', {paths = {geo.line(s, geo.vec{-2, -2}, geo.vec{2, 1}), {geo.vec{0, 0}, geo.vec{1, 1}}}, resolution = 16, width = 64})"))
        let img = try PNG.read(path)
        XCTAssertEqual(img.width, 64); XCTAssertEqual(img.height, 64); XCTAssertEqual(img.channels, 3)
        // The volume sqrt(1 + 4x^2 + 4y^2) is smallest near the centre: darker (viridis) there.
        let centre = img.pixel(x: 27, y: 26)!, corner = img.pixel(x: 1, y: 1)!   // latent (-0.5, 0.5), off the paths
        XCTAssertLessThan(centre.reduce(0) { $0 + Int($1) }, corner.reduce(0) { $0 + Int($1) })
        assertError("geo.latent_map(geo.plane{dim = 3}, '\(path)')", "a latent map needs a manifold with latent_dim 2, got 3")
        assertError("geo.latent_map(s, '\(path)', {paths = {3}})", "bad argument #3 to 'latent_map' (entry 1 is a number, geo.Path expected)")
        assertError("geo.latent_map(s, '\(path)', {range = 0})", "bad argument #3 to 'latent_map' (option 'range' must be a positive number, got 0)")
        assertError("geo.latent_map(s, '\(path)', {paths = {{geo.vec{1, 2, 3}}}})", "dimension mismatch: latent_dim is 2, path 1 has points of 3")
        // Markers: white dots where the points are.
        XCTAssertNil(lua.run("geo.latent_map(s, '\(path)', {points = {geo.vec{-1.5, 1.5}, geo.vec{1, -1}}, resolution = 16, width = 64})"))
        let marked = try PNG.read(path)
        XCTAssertEqual(marked.pixel(x: 16, y: 16), [255, 255, 255], "latent (-1.5, 1.5) is pixel (16, 16) of 64 over [-3, 3]")
        XCTAssertNotEqual(marked.pixel(x: 20, y: 16), [255, 255, 255])
        assertError("geo.latent_map(s, '\(path)', {points = 3})", "bad argument #3 to 'latent_map' (option 'points' must be a table of geo.Vector, got number)")
        assertError("geo.latent_map(s, '\(path)', {points = {geo.vec{1, 2}, 'x'}})", "bad argument #3 to 'latent_map' (entry 2 is a string, geo.Vector expected)")
        assertError("geo.latent_map(s, '\(path)', {points = {geo.vec{1, 2, 3}}})", "dimension mismatch: latent_dim is 2, option 'points' has points of 3")
    }
}
