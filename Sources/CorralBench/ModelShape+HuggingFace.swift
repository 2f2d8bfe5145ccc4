public import Foundation

/// Why a model description could not be read; the message names the offending field.
public struct PlanError: Error, CustomStringConvertible, Equatable {
    /// One line for the user.
    public let description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

extension ModelShape {
    /// The fields of a `config.json` the planner reads; JSONDecoder keeps types strict
    /// (`true` is no number, `"8"` is no integer).
    private struct Config: Decodable {
        var hidden_size: Int?
        var num_attention_heads: Int?
        var num_hidden_layers: Int?
        var vocab_size: Int?
        var head_dim: Int?
        var num_key_value_heads: Int?
        var intermediate_size: Int?
        var tie_word_embeddings: Bool?
        var block_configs: [Block]?

        struct Block: Decodable {
            var attention: Attention?
            var ffn: FFN?
        }
        struct Attention: Decodable {
            var n_heads_in_group: Int?
            var no_op: Bool?
            var replace_with_linear: Bool?
        }
        struct FFN: Decodable {
            var ffn_mult: Double?
            var no_op: Bool?
            var replace_with_linear: Bool?
        }
    }

    /// Reads a Hugging Face `config.json`: Llama-style models (`num_key_value_heads`,
    /// `intermediate_size`) and DeciLM/Nemotron ones, whose `block_configs` give each layer
    /// `attention.{no_op, replace_with_linear, n_heads_in_group}` and
    /// `ffn.{ffn_mult, no_op, replace_with_linear}`.
    /// - Throws: `PlanError` naming the missing or malformed field.
    public init(huggingFaceConfig data: Data, name: String) throws(PlanError) {
        let config: Config
        do {
            guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
                if (try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)) == nil {
                    throw PlanError("config.json is not valid JSON")
                }
                throw PlanError("config.json must be a JSON object")
            }
            config = try JSONDecoder().decode(Config.self, from: data)
        } catch let error as PlanError {
            throw error
        } catch let DecodingError.typeMismatch(type, context) {
            throw PlanError("config.json: \(Self.path(context.codingPath)) must be \(Self.describe(type))")
        } catch {
            throw PlanError("config.json cannot be read: \(error)")
        }
        func required(_ value: Int?, _ key: String) throws(PlanError) -> Int {
            guard let value else { throw PlanError("config.json: \(key) is missing") }
            guard value > 0 else { throw PlanError("config.json: \(key) must be a positive integer") }
            return value
        }
        let hidden = try required(config.hidden_size, "hidden_size")
        let heads = try required(config.num_attention_heads, "num_attention_heads")
        let layerCount = try required(config.num_hidden_layers, "num_hidden_layers")
        let vocab = try required(config.vocab_size, "vocab_size")
        let headDim = try config.head_dim.map { v throws(PlanError) in try required(v, "head_dim") } ?? hidden / heads
        var layers: [Layer] = []
        if let blocks = config.block_configs {
            guard blocks.count == layerCount else {
                throw PlanError("config.json: block_configs has \(blocks.count) entries, num_hidden_layers is \(layerCount)")
            }
            for (i, block) in blocks.enumerated() {
                layers.append(try Self.deciLayer(block, index: i, hidden: hidden, heads: heads))
            }
        } else {
            let kv = try config.num_key_value_heads.map { v throws(PlanError) in try required(v, "num_key_value_heads") } ?? heads
            guard heads % kv == 0 else {
                throw PlanError("config.json: num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kv)")
            }
            let width = try required(config.intermediate_size, "intermediate_size")
            layers = Array(repeating: Layer(attention: .full(heads: heads, kvHeads: kv), ffn: .gated(width: width)),
                           count: layerCount)
        }
        self.init(name: name, hiddenSize: hidden, headDim: headDim, vocabSize: vocab,
                  tiedEmbeddings: config.tie_word_embeddings ?? false, layers: layers)
    }

    private static func deciLayer(_ block: Config.Block, index i: Int, hidden: Int, heads: Int) throws(PlanError) -> Layer {
        guard let attention = block.attention, let ffn = block.ffn else {
            throw PlanError("config.json: block_configs[\(i)] needs attention and ffn objects")
        }
        let layerAttention: Layer.Attention
        if attention.no_op == true {
            layerAttention = .none
        } else if attention.replace_with_linear == true {
            layerAttention = .linear
        } else {
            guard let group = attention.n_heads_in_group, group > 0 else {
                throw PlanError("config.json: block_configs[\(i)].attention.n_heads_in_group must be a positive integer")
            }
            guard heads % group == 0 else {
                throw PlanError("config.json: block_configs[\(i)].attention.n_heads_in_group \(group) does not divide \(heads) heads")
            }
            layerAttention = .full(heads: heads, kvHeads: heads / group)
        }
        let layerFFN: Layer.FFN
        if ffn.no_op == true {
            layerFFN = .none
        } else if ffn.replace_with_linear == true {
            layerFFN = .linear
        } else {
            guard let mult = ffn.ffn_mult, mult > 0 else {
                throw PlanError("config.json: block_configs[\(i)].ffn.ffn_mult must be a positive number")
            }
            layerFFN = .gated(width: ffnWidth(multiplier: mult, hidden: hidden))
        }
        return Layer(attention: layerAttention, ffn: layerFFN)
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().replacingOccurrences(of: ".[", with: "[")
            .trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: "true or false"
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        default: "\(type)"
        }
    }

    /// DeciLM's FFN width: `find_multiple(int(2 * ffn_mult * hidden / 3), 256)`.
    public static func ffnWidth(multiplier: Double, hidden: Int) -> Int {
        let raw = Int(2 * multiplier * Double(hidden) / 3)
        return (raw + 255) / 256 * 256
    }
}
