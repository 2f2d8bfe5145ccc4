import Foundation
public import CorralCore

/// How the KV cache was sized: a fixed token count (`NIM_KV_CACHE_TOKENS`), or a share of
/// the memory left after the weights (`NIM_KV_CACHE_PERCENT`), counted per layer so that a
/// `deci` model's attention-free layers leave their room to the others.
public struct KVSizing: Sendable, Equatable, Codable {
    /// `fixed` or `percent`.
    public var mode: String
    /// KV cells for all sequences together.
    public var tokens: Int
    /// KV bytes per token (f16 K and V, layers with KV heads only).
    public var bytesPerToken: Int
    /// The share of free memory given to the KV cache, in `percent` mode.
    public var percent: Double?
    /// Free memory measured after the weights were loaded, in `percent` mode.
    public var freeBytes: Int?
    /// Where that figure came from: `gpu`, `cgroup` or `system`.
    public var memorySource: String?

    /// Creates a value; see each property.
    public init(mode: String, tokens: Int, bytesPerToken: Int, percent: Double? = nil, freeBytes: Int? = nil,
                memorySource: String? = nil) {
        self.mode = mode
        self.tokens = tokens
        self.bytesPerToken = bytesPerToken
        self.percent = percent
        self.freeBytes = freeBytes
        self.memorySource = memorySource
    }

    enum CodingKeys: String, CodingKey {
        case mode, tokens, percent
        case bytesPerToken = "bytes_per_token"
        case freeBytes = "free_bytes"
        case memorySource = "memory_source"
    }

    /// A fixed size.
    public static func fixed(_ tokens: Int, model: any ServedModel) -> KVSizing {
        KVSizing(mode: "fixed", tokens: tokens, bytesPerToken: model.metadata.kvElementsPerToken * 2)
    }

    /// Not enough memory for the share asked.
    public struct KVSizingError: Error, CustomStringConvertible {
        /// One line for the operator.
        public let description: String

        /// Wraps a reason.
        public init(_ description: String) { self.description = description }
    }
}
