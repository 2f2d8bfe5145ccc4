/// Turns a stream of tokens into text without ever emitting half of a UTF-8 character.
///
/// Byte-level BPE vocabularies split multi-byte characters (emoji, CJK) across tokens.
/// This type holds back the trailing bytes of an incomplete sequence until the token that
/// completes it arrives. Invalid bytes are emitted as U+FFFD rather than dropped, so no
/// text is lost.
public struct IncrementalDetokenizer: Sendable {
    private var pending: [UInt8] = []

    /// Creates an empty detokenizer.
    public init() {}

    /// Adds a token's bytes and returns the text that is now complete.
    public mutating func append(_ bytes: [UInt8]) -> String {
        pending += bytes
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is held back, repaired, at the end of the stream.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of the longest prefix that does not end inside a multi-byte character.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        // Look back at most 3 bytes for the lead byte of an unfinished sequence.
        var i = bytes.count - 1
        let stop = max(bytes.count - 4, -1)
        while i > stop {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {  // a lead byte or ASCII
                let need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                return bytes.count - i >= need ? bytes.count : i
            }
            i -= 1
        }
        return bytes.count  // only continuation bytes: invalid anyway, let them out as U+FFFD
    }
}
