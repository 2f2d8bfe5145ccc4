import CorralServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A client that goes away mid-stream frees its sequence and KV.
@Suite("Client disconnect", .serialized)
struct DisconnectTests {
    /// Opens a raw TCP connection, sends `request`, reads until `marker` arrives, then closes.
    func sendAndHangUp(port: Int, request: String, marker: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(marker) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += String(decoding: buffer[..<n], as: UTF8.self)
        }
        close(fd)
        return received
    }

    @Test func hangingUpMidStreamFreesTheSequenceAndItsKV() async throws {
        let (config, state) = await ServerFixture.shared()
        guard case .ready(let engine) = state.current else { Issue.record("model not loaded"); return }
        let app = try buildApplication(config: config, state: state, logger: ServerFixture.logger)
        let before = engine.scheduler.snapshot.counters
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let body = #"{"prompt":"Tell me a very long story.","max_tokens":400,"min_tokens":400,"ignore_eos":true,"stream":true}"#
            let request = "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            let seen = try sendAndHangUp(port: port, request: request, marker: "data: ")
            #expect(seen.contains("200 OK"))
            // The server notices on its next write; the scheduler frees the KV a step later.
            var snapshot = engine.scheduler.snapshot
            for _ in 0..<600 where snapshot.running > 0 || snapshot.kvUsed > 0 {
                try await Task.sleep(for: .milliseconds(50))
                snapshot = engine.scheduler.snapshot
            }
            #expect(snapshot.running == 0)
            #expect(snapshot.kvUsed == 0)
            // Cancelled, not finished: the count tells a freed request from one that ran out.
            #expect(snapshot.counters.failed == before.failed + 1)
            #expect(snapshot.counters.succeeded == before.succeeded)
        }
    }
}
