import Foundation
import CorralCore
import Scheduler

/// Turns one chat request's generated text into OpenAI's chat responses: read through the
/// template's parser when the output can hold tool calls or reasoning, and passed through
/// as content when it cannot.
struct ChatOutput: Sendable {
    let id: String
    let created: Int
    let model: String
    let served: any ServedModel
    let plan: ChatPlan
    let hideReasoning: Bool
    let logprobs: Bool
    let perRequestStats: Bool

    /// One finished choice of a non-streamed response.
    func choice(_ index: Int, _ result: ChoiceAccumulator) throws -> ChatCompletion.Choice {
        let logprobs = logprobs ? ChatLogprobs(content: result.logprobs.map { chatLogprob($0, served) }) : nil
        guard plan.needsParsing else {
            return .init(index: index, message: AssistantMessage(content: result.text), logprobs: logprobs,
                         finish_reason: result.summary?.reason.rawValue)
        }
        let parser = try plan.makeParser()
        var parsed: ParsedChatMessage
        do {
            _ = try parser.update(result.text, final: true)
            parsed = parser.message
        } catch {
            // Cut off mid-format (max_tokens ended it inside a call): what parsed so far, as
            // a stream would have sent it, never the format's own wrapper as content.
            let partial = try plan.makeParser()
            if (try? partial.update(result.text, final: false)) != nil {
                parsed = partial.message
            } else {
                parsed = ParsedChatMessage(content: result.summary?.reason == .length ? "" : result.text)
            }
            // Output that does not match the format at all, and was not cut, is still the
            // model's answer.
            if result.summary?.reason != .length, parsed.toolCalls.isEmpty, parsed.content.isEmpty {
                parsed = ParsedChatMessage(content: result.text)
            }
        }
        return .init(index: index, message: AssistantMessage(parsed, hideReasoning: hideReasoning), logprobs: logprobs,
                     finish_reason: Self.finishReason(result.summary?.reason, calls: !parsed.toolCalls.isEmpty))
    }

    /// OpenAI's `tool_calls` when the turn ended by itself after making calls.
    static func finishReason(_ reason: FinishReason?, calls: Bool) -> String? {
        reason == .stop && calls ? "tool_calls" : reason?.rawValue
    }

    /// The renderer for one choice's stream.
    func stream() throws -> Stream {
        Stream(output: self, parser: plan.needsParsing ? try plan.makeParser() : nil)
    }

    /// One choice's stream: each event becomes zero or more `chat.completion.chunk`s.
    final class Stream: @unchecked Sendable {
        // The SSE writer calls `render` for one choice from one task, in order.
        private let output: ChatOutput
        private let parser: (any ChatOutputParser)?
        private var madeCalls = false

        init(output: ChatOutput, parser: (any ChatOutputParser)?) {
            self.output = output
            self.parser = parser
        }

        func render(_ event: GenerationEvent, index: Int, encoder: JSONEncoder) throws -> [Data] {
            let (deltas, finish) = self.deltas(event)
            switch event {
            case .delta(_, _, let lps):
                let logprobs = output.logprobs ? ChatLogprobs(content: lps.map { chatLogprob($0, output.served) }) : nil
                if deltas.isEmpty {
                    return lps.isEmpty ? [] : [try chunk(index, AssistantMessage(content: nil), logprobs, nil, encoder)]
                }
                return try deltas.enumerated().map { i, delta in
                    try chunk(index, delta, i == 0 ? logprobs : nil, nil, encoder)
                }
            case .finished(let summary):
                return try deltas.map { try chunk(index, $0, nil, nil, encoder) }
                    + [try chunk(index, AssistantMessage(content: nil), nil, finish, encoder, stats: summary)]
            case .failed:
                return []
            }
        }

        /// The parsed pieces one event adds, and the finish reason when it ends the choice:
        /// what `render` encodes as chunks, and what `/v1/responses` turns into its events.
        func deltas(_ event: GenerationEvent) -> (deltas: [AssistantMessage], finish: String?) {
            switch event {
            case .delta(let text, _, _):
                return (parse(text, final: false), nil)
            case .finished(let summary):
                let last = parse("", final: true)
                return (last, ChatOutput.finishReason(summary.reason, calls: madeCalls))
            case .failed:
                return ([], nil)
            }
        }

        /// The parsed pieces of `text`, as deltas; all of it as content when there is no parser.
        private func parse(_ text: String, final: Bool) -> [AssistantMessage] {
            guard let parser else { return text.isEmpty ? [] : [AssistantMessage(content: text)] }
            let deltas: [ChatDelta]
            do {
                deltas = try parser.update(text, final: final)
            } catch {
                return []  // what was streamed stands; a mismatch at the very end adds nothing
            }
            return deltas.compactMap { delta in
                if case .toolCall = delta { madeCalls = true }
                if case .reasoning = delta, output.hideReasoning { return nil }
                return AssistantMessage(delta: delta)
            }
        }

        private func chunk(_ index: Int, _ delta: AssistantMessage, _ logprobs: ChatLogprobs?, _ finish: String?,
                           _ encoder: JSONEncoder, stats summary: GenerationSummary? = nil) throws -> Data {
            try encoder.encode(ChatCompletionChunk(
                id: output.id, created: output.created, model: output.model,
                choices: [.init(index: index, delta: delta, logprobs: logprobs, finish_reason: finish)],
                stats: output.perRequestStats ? summary.flatMap { RequestStats([$0]) } : nil))
        }
    }
}
