import CorralServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The HTTP routes end to end on the fake model and the simulated executor: validation,
/// errors, streaming framing and drain, with no weights and no engine.
@Suite("Routes on a fake model", .serialized)
struct RouteTests {
    func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
    }

    /// Posts `body` to `uri` on a fresh fake server and hands the response to `check`.
    func post(_ uri: String, _ body: String, config: ServerConfig = FakeServer.config(), model: FakeModel = FakeModel(),
              drain: Bool = false, _ check: @escaping @Sendable (TestResponse) throws -> Void) async throws {
        let (config, state, scheduler) = FakeServer.ready(config, model: model)
        defer { scheduler.shutdown() }
        if drain { state.beginDraining() }
        let app = try buildApplication(config: config, state: state, logger: FakeServer.logger)
        try await app.test(.router) { client in
            try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: body)) { try check($0) }
        }
    }

    @Test func aCompletionCountsItsTokens() async throws {
        try await post("/v1/completions", #"{"prompt":"one two three","max_tokens":5}"#) { response in
            #expect(response.status == .ok)
            let body = try object(response.body)
            var usage = try #require(body["usage"] as? [String: Any])
            #expect(usage.removeValue(forKey: "prompt_tokens_details") as? [String: Int] == ["cached_tokens": 0])
            #expect(usage as? [String: Int] == ["prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8])
            let choice = try #require((body["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "length")
            let text = try #require(choice["text"] as? String)
            #expect(text.split(separator: " ").count == 5 && text.hasPrefix("w"))
        }
    }

    @Test func aConstraintIsConvertedOncePerRequestWhateverTheChoicesAndPrompts() async throws {
        let model = FakeModel()
        let body = #"{"prompt":["a b","c"],"n":3,"max_tokens":2,"grammar":"root ::= \"w1 \""}"#
        try await post("/v1/completions", body, model: model) { response in
            #expect(response.status == .ok)
            let choices = try object(response.body)["choices"] as? [Any]
            #expect(choices?.count == 6)
        }
        #expect(model.conversions.withLock { $0 } == 1)
        try await post("/v1/chat/completions", #"{"messages":[{"role":"user","content":"hi"}],"n":2,"max_tokens":2,"grammar":"root ::= \"w1 \""}"#,
                       model: model) { response in
            #expect(response.status == .ok)
        }
        #expect(model.conversions.withLock { $0 } == 2)
    }

    @Test func chatGivesEachChoiceItsIndex() async throws {
        try await post("/v1/chat/completions", #"{"messages":[{"role":"user","content":"hi there"}],"n":2,"max_tokens":3}"#) {
            response in
            #expect(response.status == .ok)
            let choices = try #require(try object(response.body)["choices"] as? [[String: Any]])
            #expect(choices.map { $0["index"] as? Int } == [0, 1])
        }
    }

    @Test func streamingIsFramedAsEventsEndingWithDone() async throws {
        let body = #"{"prompt":"a b","max_tokens":4,"stream":true,"stream_options":{"include_usage":true}}"#
        try await post("/v1/completions", body) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            let events = String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.allSatisfy { $0.hasPrefix("data: ") })
            #expect(events.last == "data: [DONE]")
            let chunks = try events.dropLast().map {
                try #require(JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any])
            }
            let usage = try #require(chunks.last?["usage"] as? [String: Any])
            #expect(usage["completion_tokens"] as? Int == 4)
            #expect((usage["prompt_tokens_details"] as? [String: Int])?["cached_tokens"] == 0)
            let text = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["text"] as? String }.joined()
            #expect(text.split(separator: " ").count == 4)
        }
    }

    @Test(arguments: [
        (#"{"prompt":"x","temperature":3}"#, "temperature"),
        (#"{"prompt":"x","n":17}"#, "n"),
        (#"{"prompt":"x","best_of":2}"#, "best_of"),
        (#"{"prompt":"x","tools":[]}"#, "tools"),
        (#"{"prompt":"x","grammar":"root ::= \"a\"","nvext":{"guided_grammar":"root ::= \"b\""}}"#, "grammar"),
        (#"{"prompt":"x","nvext":{"guided_regex":"a+"}}"#, "nvext.guided_regex"),
        (#"{"prompt":"x","logit_bias":{"5000":1}}"#, "logit_bias"),
        (#"{"prompt":"x","max_tokens":100000}"#, "prompt"),
    ])
    func badRequestsAre400NamingTheField(body: String, param: String) async throws {
        try await post("/v1/completions", body) { response in
            #expect(response.status == .badRequest)
            let error = try #require(try object(response.body)["error"] as? [String: Any])
            #expect(error["param"] as? String == param, "\(error)")
        }
    }

    @Test func aChatThatTheTemplateRefusesIsA400() async throws {
        try await post("/v1/chat/completions", #"{"messages":[{"role":"tool","content":"x","tool_call_id":"c1"}]}"#) { response in
            #expect(response.status == .badRequest)
            let error = try #require(try object(response.body)["error"] as? [String: Any])
            #expect(error["param"] as? String == "messages")
        }
    }

    @Test func bodiesThatAreNotJSONSayWhy() async throws {
        try await post("/v1/chat/completions", "{not json") { response in
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains("not valid JSON"))
        }
    }

    @Test func aDrainingServerRefusesNewWork() async throws {
        try await post("/v1/completions", #"{"prompt":"x","max_tokens":2}"#, drain: true) { response in
            #expect(response.status == .serviceUnavailable)
        }
    }

    @Test func metadataDescribesTheFakeModel() async throws {
        let (config, state, scheduler) = FakeServer.ready()
        defer { scheduler.shutdown() }
        let app = try buildApplication(config: config, state: state, logger: FakeServer.logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/metadata", method: .get) { response in
                #expect(response.status == .ok)
                let body = try object(response.body)
                #expect(body["architecture"] as? String == "fake")
                #expect(body["kv_capacity_tokens"] as? Int == 2048)
            }
        }
    }
}
