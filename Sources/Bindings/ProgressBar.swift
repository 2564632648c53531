import Foundation
import GeoEngine

/// A one-line progress bar on stderr for long engine calls (geodesics, sweeps, training):
///     geodesic [##########..........]  312/1000  energy 1.234e-02  0:03
/// Shown when stderr is a terminal, or when the call's `progress` option is true; redrawn at
/// most 10 times a second; erased when the call ends.
final class ProgressBar {
    private let label: String
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    /// `requested` is the call's `progress` option (nil when not given: decided by isatty).
    init(_ label: String, requested: Bool?) {
        self.label = label
        enabled = requested ?? (isatty(STDERR_FILENO) != 0)
    }

    /// The handler to pass to the engine (nil when disabled, so the engine skips reporting).
    var handler: ProgressHandler? {
        enabled ? { [weak self] report in self?.update(report) } : nil
    }

    func update(_ r: ProgressReport) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 || r.completed >= r.total else { return }
        lastDraw = now
        let width = 20
        let frac = r.total > 0 ? min(1, max(0, Double(r.completed) / Double(r.total))) : 0
        let filled = Int((frac * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let secs = Int(now.timeIntervalSince(start))
        let line = "\(label) [\(bar)] \(r.completed)/\(r.total)  \(r.detail)  \(secs / 60):\(String(format: "%02d", secs % 60))"
        write("\r\u{1B}[K" + line)
        drawn = true
    }

    /// Erases the bar.
    func finish() {
        if drawn { write("\r\u{1B}[K") }
        drawn = false
    }
    deinit { finish() }

    private func write(_ s: String) {
        FileHandle.standardError.write(s.data(using: .utf8) ?? Data())
    }
}
