import Foundation
import NIOCore
import Scheduler

/// Turns a chat choice's parsed deltas (`ChatOutput.Stream.deltas`) into the Responses API's
/// typed events, as llama-server does: `response.created` and `response.in_progress`, then per output item
/// `response.output_item.added`, its deltas (`response.reasoning_text.delta`,
/// `response.content_part.added` and `response.output_text.delta`,
/// `response.function_call_arguments.delta`), the matching `.done` events and
/// `response.output_item.done`, and last `response.completed` (or `response.incomplete`,
/// or `response.failed` when the generation failed).
final class ResponsesStream: @unchecked Sendable {
    // Fed by one task, in order (the response's writer); never shared.
    private enum Open { case none, reasoning, message, call(Int) }

    private let id: String
    private let created: Int
    private let echo: [String: Any]
    private let model: String
    private var sequence = 0
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

    /// Events for one generation event of the choice, whose parsed pieces are `deltas`.
    func apply(_ event: GenerationEvent, deltas: [AssistantMessage], finish: String?, promptTokens: Int) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        for delta in deltas { out += apply(delta) }
        switch event {
        case .finished(let summary):
            finishReason = finish
            usage = ResponsesOutput.usage(input: promptTokens, output: summary.completionTokens, cached: summary.cachedTokens)
            out += self.finish()
        case .failed(let error):
            failure = ["code": APIError(error).code ?? "server_error", "message": error.description]
            out += self.finish()
        case .delta:
            break
        }
        return out
    }

    private func apply(_ delta: AssistantMessage) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        if let piece = delta.reasoning_content, !piece.isEmpty {
            if case .reasoning = open {} else { out += close(); out += openItem(.reasoning) }
            text += piece
            out.append(event("response.reasoning_text.delta", ["item_id": itemID, "output_index": items.count,
                                                               "content_index": 0, "delta": piece]))
        }
        if let piece = delta.content, !piece.isEmpty {
            if case .message = open {} else { out += close(); out += openItem(.message) }
            text += piece
            out.append(event("response.output_text.delta", ["item_id": itemID, "output_index": items.count,
                                                            "content_index": 0, "delta": piece, "logprobs": [Any]()]))
        }
        for call in delta.tool_calls ?? [] {
            let index = call.index ?? 0
            if case .call(let current) = open, current == index {} else {
                out += close()
                self.call = (call.id ?? ResponsesOutput.id("call"), call.function.name ?? "")
                out += openItem(.call(index))
            }
            if !call.function.arguments.isEmpty {
                text += call.function.arguments
                out.append(event("response.function_call_arguments.delta", ["item_id": itemID, "output_index": items.count,
                                                                            "delta": call.function.arguments]))
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
