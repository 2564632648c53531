/// Data sets by the names Lua uses: `geo.dataset("fashion-mnist", {split="train"})`.
public enum DatasetCatalog {
    /// The known names.
    public static let names = ["fashion-mnist"]

    /// The named data set's split ("train" or "test"), from its default directory, cached.
    /// An unknown name or split is `.invalidArgument`; missing files are `.io`.
    public static func load(_ name: String, split: String = "train") throws -> FashionMNIST {
        guard name.lowercased() == "fashion-mnist" else {
            throw GeoError.invalidArgument("unknown data set '\(untrusted: name)' (known: \(names.joined(separator: ", ")))")
        }
        return try FashionMNIST.load(split: FashionMNIST.Split(name: split))
    }
}
