import Foundation
import NIOCore

/// Turns a chat completion's SSE stream into the Responses API's typed events, as
/// llama-server does: `response.created` and `response.in_progress`, then per output item
/// `response.output_item.added`, its deltas (`response.reasoning_text.delta`,
/// `response.content_part.added` and `response.output_text.delta`,
/// `response.function_call_arguments.delta`), the matching `.done` events and
/// `response.output_item.done`, and last `response.completed` (or `response.incomplete`,
/// or `response.failed` when the generation failed).
final class ResponsesStream: @unchecked Sendable {
    // Fed by one task, in order (the chat stream's writer); never shared.
    private enum Open { case none, reasoning, message, call(Int) }

    private let id: String
    private let created: Int
    private let echo: [String: Any]
    private let model: String
    private var sequence = 0
    private var pending = Data()
    private var open = Open.none
    private var items: [[String: Any]] = []
    private var itemID = ""
    private var text = ""
    private var call: (callID: String, name: String) = ("", "")
    private var finishReason: String?
    private var usage: [String: Any]?
    private var failure: [String: Any]?

    init(id: String, created: Int, model: String, echo: [String: Any]) {
        self.id = id
        self.created = created
        self.model = model
        self.echo = echo
    }

    /// The two events that open the stream.
    func start() -> [ByteBuffer] {
        let response = ResponsesOutput.response(id: id, created: created, model: model, echo: echo, status: "in_progress",
                                                output: [], usage: nil)
        return [event("response.created", ["response": response]), event("response.in_progress", ["response": response])]
    }

    /// Events for the chat stream's next bytes; a frame split across writes waits for its end.
    func feed(_ buffer: ByteBuffer) -> [ByteBuffer] {
        pending.append(contentsOf: buffer.readableBytesView)
        var out: [ByteBuffer] = []
        while let end = pending.firstRange(of: Data("\n\n".utf8)) {
            let frame = String(decoding: pending[pending.startIndex..<end.lowerBound], as: UTF8.self)
            pending.removeSubrange(pending.startIndex..<end.upperBound)
            guard frame.hasPrefix("data: ") else { continue }
            let payload = frame.dropFirst(6)
            if payload == "[DONE]" {
                out += finish()
            } else if let chunk = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] {
                out += apply(chunk)
            }
        }
        return out
    }

    private func apply(_ chunk: [String: Any]) -> [ByteBuffer] {
        if let error = chunk["error"] as? [String: Any] {
            failure = ["code": error["code"] ?? "server_error", "message": error["message"] ?? "generation failed"]
            return []
        }
        if let u = chunk["usage"] as? [String: Any] { usage = ResponsesOutput.usage(u) }
        guard let choice = (chunk["choices"] as? [[String: Any]])?.first else { return [] }
        if let reason = choice["finish_reason"] as? String { finishReason = reason }
        let delta = choice["delta"] as? [String: Any] ?? [:]
        var out: [ByteBuffer] = []
        if let piece = delta["reasoning_content"] as? String, !piece.isEmpty {
            if case .reasoning = open {} else { out += close(); out += openItem(.reasoning) }
            text += piece
            out.append(event("response.reasoning_text.delta", ["item_id": itemID, "output_index": items.count,
                                                               "content_index": 0, "delta": piece]))
        }
        if let piece = delta["content"] as? String, !piece.isEmpty {
            if case .message = open {} else { out += close(); out += openItem(.message) }
            text += piece
            out.append(event("response.output_text.delta", ["item_id": itemID, "output_index": items.count,
                                                            "content_index": 0, "delta": piece, "logprobs": [Any]()]))
        }
        for call in delta["tool_calls"] as? [[String: Any]] ?? [] {
            let index = call["index"] as? Int ?? 0
            let function = call["function"] as? [String: Any] ?? [:]
            if case .call(let current) = open, current == index {} else {
                out += close()
                self.call = (call["id"] as? String ?? ResponsesOutput.id("call"), function["name"] as? String ?? "")
                out += openItem(.call(index))
            }
            if let piece = function["arguments"] as? String, !piece.isEmpty {
                text += piece
                out.append(event("response.function_call_arguments.delta", ["item_id": itemID, "output_index": items.count,
                                                                            "delta": piece]))
            }
        }
        return out
    }

    private func openItem(_ kind: Open) -> [ByteBuffer] {
        open = kind
        text = ""
        let index = items.count
        switch kind {
        case .none:
            return []
        case .reasoning:
            itemID = ResponsesOutput.id("rs")
            let item: [String: Any] = ["id": itemID, "type": "reasoning", "summary": [Any](), "content": [Any]()]
            return [event("response.output_item.added", ["output_index": index, "item": item])]
        case .message:
            itemID = ResponsesOutput.id("msg")
            let item = ResponsesOutput.messageItem(id: itemID, text: "", status: "in_progress")
            return [event("response.output_item.added", ["output_index": index, "item": item]),
                    event("response.content_part.added", ["item_id": itemID, "output_index": index, "content_index": 0,
                                                          "part": ResponsesOutput.textPart("")])]
        case .call:
            itemID = ResponsesOutput.id("fc")
            let item = ResponsesOutput.callItem(id: itemID, callID: call.callID, name: call.name, arguments: "",
                                                status: "in_progress")
            return [event("response.output_item.added", ["output_index": index, "item": item])]
        }
    }

    private func close() -> [ByteBuffer] {
        let index = items.count
        let item: [String: Any]
        var out: [ByteBuffer] = []
        switch open {
        case .none:
            return []
        case .reasoning:
            item = ResponsesOutput.reasoningItem(id: itemID, text: text)
            out.append(event("response.reasoning_text.done", ["item_id": itemID, "output_index": index, "content_index": 0,
                                                              "text": text]))
        case .message:
            item = ResponsesOutput.messageItem(id: itemID, text: text)
            out.append(event("response.output_text.done", ["item_id": itemID, "output_index": index, "content_index": 0,
                                                           "text": text, "logprobs": [Any]()]))
            out.append(event("response.content_part.done", ["item_id": itemID, "output_index": index, "content_index": 0,
                                                            "part": ResponsesOutput.textPart(text)]))
        case .call:
            item = ResponsesOutput.callItem(id: itemID, callID: call.callID, name: call.name, arguments: text)
            out.append(event("response.function_call_arguments.done", ["item_id": itemID, "output_index": index,
                                                                       "name": call.name, "arguments": text]))
        }
        out.append(event("response.output_item.done", ["output_index": index, "item": item]))
        items.append(item)
        open = .none
        return out
    }

    /// Closes the last item and ends the response.
    private func finish() -> [ByteBuffer] {
        var out = close()
        if let failure {
            let response = ResponsesOutput.response(id: id, created: created, model: model, echo: echo, status: "failed",
                                                    output: items, usage: usage, error: failure)
            out.append(event("response.failed", ["response": response]))
            return out
        }
        if items.isEmpty { out += openItem(.message) + close() }  // an empty answer is still a message
        let response = ResponsesOutput.response(id: id, created: created, model: model, echo: echo, status: "completed",
                                                output: items, usage: usage, finishReason: finishReason)
        let type = response["status"] as? String == "incomplete" ? "response.incomplete" : "response.completed"
        out.append(event(type, ["response": response]))
        return out
    }

    private func event(_ type: String, _ fields: [String: Any]) -> ByteBuffer {
        var fields = fields
        fields["type"] = type
        fields["sequence_number"] = sequence
        sequence += 1
        var buffer = ByteBuffer(string: "event: \(type)\ndata: ")
        buffer.writeBytes(ResponsesOutput.json(fields))
        buffer.writeString("\n\n")
        return buffer
    }
}
