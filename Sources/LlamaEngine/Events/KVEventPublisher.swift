import CEventWire
public import CorralCore
import Foundation
import Synchronization

/// Publishes the prefix cache's KV events as vLLM does (`ZmqEventPublisher` in
/// `vllm/distributed/kv_events.py`), so that routers built for vLLM read them unchanged:
/// a ZeroMQ PUB socket sends each step's batch as three frames (topic, an 8-byte
/// big-endian sequence number, a msgpack payload `[ts, [events], dp_rank]`), sequence
/// numbers are gapless from 0, and an optional ROUTER socket replays the last batches to a
/// subscriber that missed some.
///
/// The engine thread only queues a step's events; a thread of its own encodes and sends
/// them and answers replay requests, so a slow network never holds up a step. Both the
/// queue and the replay buffer are bounded.
public final class KVEventPublisher: KVEventSink, @unchecked Sendable {
    /// Where and how to publish.
    public struct Options: Sendable, Equatable {
        /// The address the PUB socket binds (`tcp://*:5557`).
        public var endpoint: String
        /// The address the replay ROUTER binds, or nil for none.
        public var replayEndpoint: String?
        /// The topic frame of every message (llm-d reads `kv@<pod>@<model>`).
        public var topic: String
        /// Batches kept for replay.
        public var replayBatches: Int
        /// Batches queued for the sending thread at most; beyond it the oldest are dropped.
        public var queueLimit = 10_000

        /// Creates options.
        public init(endpoint: String, replayEndpoint: String? = nil, topic: String, replayBatches: Int = 10_000) {
            self.endpoint = endpoint
            self.replayEndpoint = replayEndpoint
            self.topic = topic
            self.replayBatches = replayBatches
        }
    }

    /// The sockets could not be opened.
    public struct OpenFailed: Error, CustomStringConvertible {
        /// Why, naming the endpoint or the library.
        public let description: String
    }

    private let options: Options
    private let wire: OpaquePointer
    private let condition = NSCondition()
    private var queue: [(ts: Double, events: [KVCacheEvent])] = []
    private var stopping = false
    private var thread: Thread?
    private let adapterName = Mutex<(@Sendable (Int) -> String?)?>(nil)
    private let counts = Mutex<(sent: Int, dropped: Int)>((0, 0))

    /// Binds the sockets and starts the sending thread.
    /// - Throws: `OpenFailed` when libzmq is missing or an endpoint cannot be bound.
    public init(_ options: Options) throws {
        self.options = options
        var error = [CChar](repeating: 0, count: 512)
        guard let wire = corral_zmq_open(options.endpoint, options.replayEndpoint, 100_000, &error, error.count) else {
            throw OpenFailed(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.wire = wire
        let thread = Thread { [self] in run() }
        thread.name = "corral-kv-events"
        self.thread = thread
        thread.start()
    }

    /// Batches sent, and batches dropped because the queue was full.
    public var totals: (sent: Int, dropped: Int) { counts.withLock { $0 } }

    /// Takes adapter names for the events' `lora_name` from `resolve`.
    public func nameAdapters(with resolve: @escaping @Sendable (Int) -> String?) {
        adapterName.withLock { $0 = resolve }
    }

    /// Queues one step's events (on the engine thread; never blocks on the network).
    public func publish(_ events: [KVCacheEvent]) {
        condition.lock()
        if queue.count >= options.queueLimit {
            queue.removeFirst()
            counts.withLock { $0.dropped += 1 }
        }
        queue.append((Date().timeIntervalSince1970, events))
        condition.signal()
        condition.unlock()
    }

    /// Sends what is queued, then stops the thread and closes the sockets.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        let pack = corral_msgpack_new()!
        var replay = ReplayBuffer(capacity: max(options.replayBatches, 1))
        var sequence: Int64 = 0
        let topic = Array(options.topic.utf8)
        while true {
            condition.lock()
            if queue.isEmpty && !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: 0.05)) }
            let batches = queue
            queue.removeAll(keepingCapacity: true)
            let done = stopping
            condition.unlock()
            for batch in batches {
                corral_msgpack_clear(pack)
                encode(batch.ts, batch.events, into: pack)
                let payload = [UInt8](UnsafeRawBufferPointer(start: corral_msgpack_data(pack), count: corral_msgpack_size(pack)))
                _ = corral_zmq_publish(wire, topic, topic.count, sequence, payload, payload.count)
                replay.append(sequence, payload)
                sequence += 1
                counts.withLock { $0.sent += 1 }
            }
            if options.replayEndpoint != nil { serveReplays(from: replay) }
            if done { break }
        }
        corral_msgpack_free(pack)
        corral_zmq_close(wire)
    }

    /// Answers every waiting replay request with the kept batches from its start on, then
    /// the end marker (sequence -1, empty payload), as vLLM's ROUTER does.
    private func serveReplays(from replay: ReplayBuffer) {
        var identity = [UInt8](repeating: 0, count: 256)
        var size = 0
        var start: Int64 = 0
        while corral_zmq_replay_request(wire, &identity, &size, &start) == 1 {
            for (seq, payload) in replay.batches(from: start) {
                _ = corral_zmq_replay_send(wire, identity, size, seq, payload, payload.count)
            }
            _ = corral_zmq_replay_send(wire, identity, size, -1, nil, 0)
        }
    }

    /// `[ts, [events], dp_rank]`, each event a tagged array in vLLM's field order
    /// (msgspec's `array_like` structs, which llm-d's indexer decodes positionally).
    private func encode(_ ts: Double, _ events: [KVCacheEvent], into pack: OpaquePointer) {
        let name = adapterName.withLock { $0 }
        corral_msgpack_array(pack, 3)
        corral_msgpack_double(pack, ts)
        corral_msgpack_array(pack, UInt32(events.count))
        for event in events {
            switch event {
            case .stored(let run):
                // extra_keys goes last, and only where it is set, so a reader of the eight
                // original fields sees what it expects.
                corral_msgpack_array(pack, run.extraKeys == nil ? 8 : 9)
                string("BlockStored", pack)
                corral_msgpack_array(pack, UInt32(run.hashes.count))
                for h in run.hashes { corral_msgpack_uint(pack, h) }
                if let parent = run.parent { corral_msgpack_uint(pack, parent) } else { corral_msgpack_nil(pack) }
                corral_msgpack_array(pack, UInt32(run.tokens.count))
                for t in run.tokens { corral_msgpack_uint(pack, UInt64(UInt32(bitPattern: t))) }
                corral_msgpack_int(pack, Int64(run.blockSize))
                if let id = run.adapter { corral_msgpack_int(pack, Int64(id)) } else { corral_msgpack_nil(pack) }
                string(run.medium.rawValue, pack)
                if let id = run.adapter, let lora = name?(id) { string(lora, pack) } else { corral_msgpack_nil(pack) }
                if let keys = run.extraKeys {
                    corral_msgpack_array(pack, UInt32(run.hashes.count))
                    for _ in run.hashes {
                        corral_msgpack_array(pack, UInt32(keys.count))
                        for key in keys { string(key, pack) }
                    }
                }
            case .removed(let hashes, let medium):
                corral_msgpack_array(pack, 3)
                string("BlockRemoved", pack)
                corral_msgpack_array(pack, UInt32(hashes.count))
                for h in hashes { corral_msgpack_uint(pack, h) }
                string(medium.rawValue, pack)
            case .cleared:
                corral_msgpack_array(pack, 1)
                string("AllBlocksCleared", pack)
            }
        }
        corral_msgpack_int(pack, 0)
    }

    private func string(_ text: String, _ pack: OpaquePointer) {
        var text = text
        text.withUTF8 { corral_msgpack_string(pack, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), $0.count) }
    }
}

/// The last `capacity` batches sent, by sequence number, for replay.
struct ReplayBuffer {
    let capacity: Int
    private var ring: [(Int64, [UInt8])] = []
    private var head = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func append(_ seq: Int64, _ payload: [UInt8]) {
        if ring.count < capacity { ring.append((seq, payload)) } else {
            ring[head] = (seq, payload)
            head = (head + 1) % capacity
        }
    }

    /// Kept batches with a sequence number at or after `start`, oldest first.
    func batches(from start: Int64) -> [(Int64, [UInt8])] {
        (ring[head...] + ring[..<head]).filter { $0.0 >= start }
    }
}
