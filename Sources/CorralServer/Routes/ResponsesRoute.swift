import Foundation
import Hummingbird

extension CompletionHandler {
    /// `POST /v1/responses`: the Responses API, served by converting the request to a chat
    /// completion (`ResponsesRequest`) and the chat route's answer back (`ResponsesOutput`,
    /// `ResponsesStream`), as llama-server does. Nothing is stored: `previous_response_id` is
    /// refused, and the response says `store: false`.
    func responses(_ request: Request, context: some RequestContext) async throws -> Response {
        let converted = try ResponsesRequest(try await collectJSONBody(from: request, limit: config.maxBodyBytes))
        var head = request.head
        head.path = "/v1/chat/completions"
        head.headerFields[.contentLength] = nil
        head.headerFields[.contentType] = "application/json"
        let inner = Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: converted.chatBody)))
        let chatResponse: Response
        do {
            chatResponse = try await chat(inner, context: context)
        } catch let error as APIError {
            throw error.param.flatMap { ResponsesRequest.paramNames[$0] }.map {
                var renamed = APIError(error.status, error.message, type: error.type, param: $0, code: error.code)
                renamed.extraHeaders = error.extraHeaders
                return renamed
            } ?? error
        }
        let id = ResponsesOutput.id("resp"), created = Int(Date().timeIntervalSince1970)
        let model = try state.readyEngine().servedName
        if converted.stream {
            return streamed(chatResponse.body, ResponsesStream(id: id, created: created, model: model, echo: converted.echo))
        }
        let collector = BodyCollector()
        try await chatResponse.body.write(collector)
        guard let chat = (try? JSONSerialization.jsonObject(with: Data(buffer: collector.buffer))) as? [String: Any],
              let choice = (chat["choices"] as? [[String: Any]])?.first else {
            throw APIError(.internalServerError, "the chat completion could not be read back", type: "server_error")
        }
        let response = ResponsesOutput.response(
            id: id, created: created, model: model, echo: converted.echo, status: "completed",
            output: ResponsesOutput.items(fromMessage: choice["message"] as? [String: Any] ?? [:]),
            usage: ResponsesOutput.usage(chat["usage"] as? [String: Any]), finishReason: choice["finish_reason"] as? String)
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: ResponsesOutput.json(response))))
    }

    /// The chat stream, rewritten event by event straight into this response's writer, so
    /// a slow client slows the chat stream as it would slow chat (nothing is buffered), and
    /// a client that goes away ends it, which cancels the generation.
    private func streamed(_ chatBody: ResponseBody, _ stream: ResponsesStream) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init { writer in
            try await writer.write(contentsOf: stream.start())
            // The chat body always finishes its writer last, which finishes this one.
            try await chatBody.write(StreamFeeder(stream: stream, outer: writer))
        })
    }
}

/// Collects a response body (a non-streamed chat completion, written at once).
private final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    // Written by one task, then read by the same one.
    var buffer = ByteBuffer()
    func write(_ buffer: ByteBuffer) async throws {
        var copy = buffer
        self.buffer.writeBuffer(&copy)
    }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Feeds a chat stream's bytes through `ResponsesStream` into the outer response's writer.
private struct StreamFeeder: ResponseBodyWriter {
    let stream: ResponsesStream
    var outer: any ResponseBodyWriter
    mutating func write(_ buffer: ByteBuffer) async throws {
        try await outer.write(contentsOf: stream.feed(buffer))
    }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws { try await outer.finish(trailingHeaders) }
}
