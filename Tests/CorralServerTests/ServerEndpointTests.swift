import CorralServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("HTTP endpoints over the real model", .serialized)
struct ServerEndpointTests {

    func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
    }

    @Test func liveAnswersWhileLoadingAndReadyWaitsForTheModel() async throws {
        let config = ServerFixture.config()
        let loading = ModelState()
        let app = try buildApplication(config: config, state: loading, logger: ServerFixture.logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/health/live", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/health/ready", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"messages":[{"role":"user","content":"hi"}]}"#)) {
                #expect($0.status == .serviceUnavailable)
            }
        }
    }

    @Test func readyModelServesAChatCompletionWithUsage() async throws {
        let (config, state) = await ServerFixture.shared()
        let app = try buildApplication(config: config, state: state, logger: ServerFixture.logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/health/ready", method: .get) { #expect($0.status == .ok) }
            let body = #"{"model":"SmolLM2-135M-Instruct","messages":[{"role":"user","content":"What is 2+2?"}],"max_tokens":16,"temperature":0}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
                let object = try json(response.body)
                let choice = try #require((object["choices"] as? [[String: Any]])?.first)
                let message = try #require(choice["message"] as? [String: Any])
                #expect(((message["content"] as? String) ?? "").isEmpty == false)
                var fields = try #require(object["usage"] as? [String: Any])
                let details = try #require(fields.removeValue(forKey: "prompt_tokens_details") as? [String: Int])
                #expect(details == ["cached_tokens": 0], "a first request finds nothing cached")
                let usage = try #require(fields as? [String: Int])
                #expect(usage["prompt_tokens"]! > 5)
                #expect(usage["completion_tokens"]! >= 1 && usage["completion_tokens"]! <= 16)
                #expect(usage["total_tokens"] == usage["prompt_tokens"]! + usage["completion_tokens"]!)
            }
        }
    }

    @Test func streamedCompletionEndsWithDone() async throws {
        let (config, state) = await ServerFixture.shared()
        let app = try buildApplication(config: config, state: state, logger: ServerFixture.logger)
        try await app.test(.live) { client in
            let body = #"{"prompt":"Once upon a time","max_tokens":8,"stream":true,"stream_options":{"include_usage":true}}"#
            try await client.execute(uri: "/v1/completions", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = String(buffer: response.body)
                let events = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
                #expect(events.last == "data: [DONE]")
                #expect(events.count >= 3)
                #expect(text.contains(#""completion_tokens":8"#))
            }
        }
    }

    @Test(arguments: [
        (#"{"messages":[{"role":"user","content":"hi"}],"temperature":-1}"#, 400),
        (#"{"messages":[{"role":"user","content":"hi"}],"top_p":0}"#, 400),
        (#"{"messages":[{"role":"user","content":"hi"}],"n":0}"#, 400),
        (#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}"#, 400),
        (#"{"messages":"nope"}"#, 400),
        (#"{"messages":[{"role":"","content":"hi"}]}"#, 400),
        (#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":100000}"#, 400),
        (#"{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4"}"#, 404),
        (#"{not json"#, 400),
    ])
    func badInputGetsAClearClientError(body: String, status: Int) async throws {
        let (config, state) = await ServerFixture.shared()
        let app = try buildApplication(config: config, state: state, logger: ServerFixture.logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: body)) { response in
                #expect(response.status.code == status)
                let error = try #require(try json(response.body)["error"] as? [String: Any])
                #expect((error["message"] as? String)?.isEmpty == false)
            }
        }
    }

    @Test func nonJSONBodyIs415() async throws {
        let (config, state) = await ServerFixture.shared()
        let app = try buildApplication(config: config, state: state, logger: ServerFixture.logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/completions", method: .post, headers: [.contentType: "text/plain"],
                                     body: ByteBuffer(string: "hello")) { #expect($0.status == .unsupportedMediaType) }
        }
    }

    @Test func modelsListsTheServedModel() async throws {
        let (config, state) = await ServerFixture.shared()
        let app = try buildApplication(config: config, state: state, logger: ServerFixture.logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let data = try #require(try json(response.body)["data"] as? [[String: Any]])
                #expect(data.first?["id"] as? String == "SmolLM2-135M-Instruct")
            }
            try await client.execute(uri: "/v1/models/SmolLM2-135M-Instruct", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/models/other", method: .get) { #expect($0.status == .notFound) }
        }
    }
}
