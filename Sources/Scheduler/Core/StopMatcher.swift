import Foundation

/// Finds stop strings in streamed text, and holds back any tail that could still become
/// one, so a client never sees text that a later token turns into a stop.
struct StopMatcher: Sendable {
    private let stops: [String]
    private var pending = ""

    init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// The result of feeding text.
    enum Output: Equatable {
        /// Text that can be shown now.
        case text(String)
        /// A stop string was found; the text before it is final.
        case stopped(String)
    }

    /// Adds newly decoded text.
    mutating func feed(_ text: String) -> Output {
        guard !stops.isEmpty else { return .text(text) }
        pending += text
        if let cut = earliestStop() {
            let before = String(pending[..<cut])
            pending = ""
            return .stopped(before)
        }
        let keep = longestStopPrefixSuffix()
        let emitEnd = pending.index(pending.endIndex, offsetBy: -keep)
        let out = String(pending[..<emitEnd])
        pending = String(pending[emitEnd...])
        return .text(out)
    }

    /// Releases held-back text when generation ends for another reason.
    mutating func flush() -> String {
        defer { pending = "" }
        return pending
    }

    private func earliestStop() -> String.Index? {
        stops.compactMap { pending.range(of: $0)?.lowerBound }.min()
    }

    /// Characters at the end of `pending` that are a proper prefix of some stop string.
    private func longestStopPrefixSuffix() -> Int {
        var best = 0
        for stop in stops {
            var n = min(stop.count - 1, pending.count)
            while n > best {
                if pending.hasSuffix(stop.prefix(n)) { best = n; break }
                n -= 1
            }
        }
        return best
    }
}
