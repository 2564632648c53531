/// The minibatch schedule the trainers share (`VAETrainer`, `DecoderTrainer`): each epoch
/// visits the points 0..<count in a fresh random order (Fisher–Yates with uniform draws from the
/// shuffling stream), in batches of `batchSize` (the last one may be smaller). The caller's
/// `step` takes one optimiser step on a batch and returns the batch means of its losses as they
/// were before the step, the first being the loss; an epoch's values are the means over its
/// points of those (weighted by batch size), as PyTorch's VAE example reports them.
///
/// Progress is reported after every batch (completed = batches so far, total = epochs *
/// batches per epoch, detail "epoch e/E  loss L" with the epoch's running loss) and
/// `Cancellation` is checked before every batch (`GeoError.interrupted`).
struct EpochLoop {
    let count: Int
    let epochs: Int
    let batchSize: Int

    /// Batches per epoch.
    var batches: Int { (count + batchSize - 1) / batchSize }

    /// One minibatch.
    struct Batch {
        /// The points, 0-based.
        let indices: [Int]
        /// 1-based.
        let epoch: Int
        /// 0-based within the epoch.
        let index: Int
        /// 1-based over the whole run: (epoch - 1) * batches + index + 1.
        let step: Int
    }

    /// Runs the schedule; `epochDone(epoch, means, seconds)` gets each epoch's mean values and
    /// wall-clock time.
    func run(shuffling: inout SeededRandom, progress: ProgressHandler?, step: (Batch) throws -> [Double],
             epochDone: (Int, [Double], Double) -> Void) throws {
        let clock = ContinuousClock()
        var order = Array(0..<count)
        let total = epochs * batches
        try Cancellation.check()
        for epoch in 1...epochs {
            let epochStart = clock.now
            EpochLoop.shuffle(&order, &shuffling)
            var sums: [Double] = []
            for b in 0..<batches {
                try Cancellation.check()
                let indices = Array(order[(b * batchSize)..<min(count, (b + 1) * batchSize)])
                let means = try step(Batch(indices: indices, epoch: epoch, index: b, step: (epoch - 1) * batches + b + 1))
                let w = Double(indices.count)
                if sums.isEmpty { sums = [Double](repeating: 0, count: means.count) }
                for k in means.indices { sums[k] += means[k] * w }
                if let report = progress {
                    let running = (sums.first ?? 0) / Double(min(count, (b + 1) * batchSize))
                    report(ProgressReport(completed: (epoch - 1) * batches + b + 1, total: total,
                                          detail: "epoch \(epoch)/\(epochs)  loss \(String(format: "%.2f", running))"))
                }
            }
            epochDone(epoch, sums.map { $0 / Double(count) }, EpochLoop.elapsed(clock.now - epochStart))
        }
    }

    /// The error for a batch whose loss is not finite ("VAE training diverged in epoch 2, batch 7: ...").
    static func divergence(_ what: String, _ batch: Batch, loss: Double) -> GeoError {
        GeoError.numerical("\(what) training diverged in epoch \(batch.epoch), batch \(batch.index + 1): the loss is \(formatNumber(loss)) (try a smaller lr)")
    }

    /// Fisher–Yates shuffle with uniform draws from `rng` (the same order on every platform).
    static func shuffle(_ a: inout [Int], _ rng: inout SeededRandom) {
        var i = a.count - 1
        while i > 0 {
            let j = min(i, Int(rng.uniform() * Double(i + 1)))
            a.swapAt(i, j)
            i -= 1
        }
    }

    static func elapsed(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
