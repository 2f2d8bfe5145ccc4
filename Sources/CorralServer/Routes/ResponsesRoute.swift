import Foundation
import Hummingbird

extension CompletionHandler {
    /// `POST /v1/responses`: the Responses API, served by converting the request to a chat
    /// completion (`ResponsesRequest`) that the chat route validates, renders and queues
    /// (`prepareChat`), then framing the choice's parsed deltas as output items
    /// (`ResponsesOutput`, `ResponsesStream`), as llama-server does. Nothing is stored:
    /// `previous_response_id` is refused, and the response says `store: false`.
    func responses(_ request: Request, context: some RequestContext) async throws -> Response {
        let converted = try ResponsesRequest(try await collectJSONBody(from: request, limit: config.maxBodyBytes))
        let chat: PreparedChat
        do {
            let body = try decodeJSON(ChatCompletionRequest.self, from: converted.chatBody)
            chat = try prepareChat(body, converted.chatBody, for: request)
        } catch let error as APIError {
            // The client wrote the Responses API's names; say them.
            throw error.param.flatMap { ResponsesRequest.paramNames[$0] }.map {
                var renamed = APIError(error.status, error.message, type: error.type, param: $0, code: error.code)
                renamed.extraHeaders = error.extraHeaders
                return renamed
            } ?? error
        }
        let id = ResponsesOutput.id("resp"), created = Int(Date().timeIntervalSince1970)
        let frames = ResponsesStream(id: id, created: created, model: chat.output.model, echo: converted.echo)
        if converted.stream { return streamed(chat, frames) }
        let results = try await collect(chat.events, count: chat.choices)
        logText("completion", results.map(\.text).joined(separator: "\n"), request)
        let choice = try chat.output.choice(0, results[0])
        let summary = results[0].summary
        let response = ResponsesOutput.response(
            id: id, created: created, model: chat.output.model, echo: converted.echo, status: "completed",
            output: ResponsesOutput.items(from: choice.message),
            usage: ResponsesOutput.usage(input: chat.promptTokens, output: summary?.completionTokens ?? 0,
                                         cached: summary?.cachedTokens ?? 0),
            finishReason: choice.finish_reason)
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: ResponsesOutput.json(response))))
    }

    /// The choice's events as the Responses API's typed events, written as they come: a
    /// slow client slows the stream as it would in chat, and one that goes away drops the
    /// events stream, which cancels the generation.
    private func streamed(_ chat: PreparedChat, _ frames: ResponsesStream) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init { writer in
            let parsed = try chat.output.stream()
            try await writer.write(contentsOf: frames.start())
            for await (_, event) in chat.events {
                let (deltas, finish) = parsed.deltas(event)
                try await writer.write(contentsOf: frames.apply(event, deltas: deltas, finish: finish,
                                                                promptTokens: chat.promptTokens))
            }
            try await writer.finish(nil)
        })
    }
}
