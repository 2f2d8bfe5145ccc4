import Foundation

/// Reads one member of a JSON document as the raw text the client sent. A JSON schema's
/// property order decides the order the grammar lays properties out in, and Foundation's
/// JSON types do not keep key order; the text itself does. The document has already been
/// decoded by `JSONDecoder`, so only well-formed JSON arrives here.
enum RawJSON {
    /// The text of the value at `path` (object keys, outermost first), or nil when a key
    /// is missing or a step is not an object.
    static func member(at path: [String], in body: Data) -> String? {
        let bytes = [UInt8](body)
        var i = skipSpace(bytes, 0)
        for key in path {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
            i = skipSpace(bytes, i + 1)
            var found = false
            while i < bytes.count, bytes[i] != UInt8(ascii: "}") {
                let keyEnd = skipValue(bytes, i)
                let name = try? JSONDecoder().decode(String.self, from: Data(bytes[i..<keyEnd]))
                i = skipSpace(bytes, keyEnd)
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                i = skipSpace(bytes, i + 1)
                if name == key { found = true; break }
                i = skipSpace(bytes, skipValue(bytes, i))
                if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i = skipSpace(bytes, i + 1) }
            }
            guard found else { return nil }
        }
        guard i < bytes.count else { return nil }
        return String(decoding: bytes[i..<skipValue(bytes, i)], as: UTF8.self)
    }

    /// The text of each element of the array at `path`; empty when it is not an array.
    static func elements(at path: [String], in body: Data) -> [String] {
        guard let array = member(at: path, in: body) else { return [] }
        let bytes = [UInt8](array.utf8)
        guard bytes.first == UInt8(ascii: "[") else { return [] }
        var out: [String] = []
        var i = skipSpace(bytes, 1)
        while i < bytes.count, bytes[i] != UInt8(ascii: "]") {
            let end = skipValue(bytes, i)
            out.append(String(decoding: bytes[i..<end], as: UTF8.self))
            i = skipSpace(bytes, end)
            if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i = skipSpace(bytes, i + 1) }
        }
        return out
    }

    private static func skipSpace(_ b: [UInt8], _ start: Int) -> Int {
        var i = start
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        return i
    }

    /// The index just past the value that starts at `start`.
    private static func skipValue(_ b: [UInt8], _ start: Int) -> Int {
        var i = start, depth = 0
        repeat {
            guard i < b.count else { return i }
            switch b[i] {
            case UInt8(ascii: "\""):
                i += 1
                while i < b.count, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
                i += 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1; i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1; i += 1
            default:
                if depth == 0 {  // a number, true, false or null
                    while i < b.count, !",}] \n\r\t".utf8.contains(b[i]) { i += 1 }
                } else {
                    i += 1
                }
            }
        } while depth > 0
        return i
    }
}
