import CLlama
import Foundation
import Synchronization

/// ggml's RPC backend: remote machines' devices used as if they were local (llama-server's
/// `--rpc`), and this machine's devices served to a leader (`corral rpc-server`, llama.cpp's
/// `rpc-server`).
///
/// The engine aborts the process when it cannot reach a server (`GGML_ABORT` in
/// `ggml-rpc.cpp`), at connect time and mid-serve alike. So every endpoint is probed with a
/// plain TCP connect before the engine sees it, and once servers are in use an abort
/// handler names the ones that no longer answer before the process exits with status 70
/// (`EX_SOFTWARE`), so that a pod restarts within seconds instead of hanging.
///
/// The protocol has no authentication: a server must be reachable from its leader only.
public enum RPCBackend {
    /// Whether this engine build has the RPC backend (`GGML_RPC=ON`).
    public static var isAvailable: Bool {
        EngineLog.install()
        return ggml_backend_reg_by_name("RPC") != nil
    }

    /// Checks `endpoint` (`host:port`) and makes its devices visible to the engine, as
    /// llama-server's `--rpc` does. Each endpoint is added once per process.
    /// - Throws: `LlamaError.invalidArgument` naming the endpoint when it is malformed, the
    ///   build has no RPC backend, or nothing listens there.
    /// - Parameter patience: how long to keep trying an endpoint that does not answer yet.
    public static func add(_ endpoints: [String], timeout: Duration = .seconds(3),
                           patience: Duration = .zero) throws(LlamaError) {
        EngineLog.install()
        guard isAvailable else {
            throw .invalidArgument("this engine build has no RPC backend (GGML_RPC=OFF); NIM_RPC_SERVERS cannot be used")
        }
        for endpoint in endpoints {
            if registered.withLock({ $0.contains(endpoint) }) { continue }
            let deadline = ContinuousClock.now + patience
            while true {
                do { try probe(endpoint, timeout: timeout); break } catch {
                    if ContinuousClock.now >= deadline { throw error }
                    Thread.sleep(forTimeInterval: 1)
                }
            }
            guard let reg = ggml_backend_rpc_add_server(endpoint) else {
                throw .invalidArgument("RPC server \(endpoint) could not be added: \(EngineLog.takeLastError())")
            }
            ggml_backend_register(reg)
            registered.withLock { $0.append(endpoint) }
        }
        if !endpoints.isEmpty { installAbortHandler() }
    }

    /// The endpoints added so far, in order.
    public static var endpoints: [String] { registered.withLock { $0 } }

    /// Serves this machine's devices (`names`, or every device but the CPU's accelerators
    /// when empty) at `endpoint` until the process ends. Blocking: it never returns unless
    /// the server cannot start.
    /// - Throws: `LlamaError.invalidArgument` for an unknown device or a build without RPC.
    public static func serve(endpoint: String, threads: Int, devices names: [String]) throws(LlamaError) -> Never {
        EngineLog.install()
        guard isAvailable else { throw .invalidArgument("this engine build has no RPC backend (GGML_RPC=OFF)") }
        var devices: [ggml_backend_dev_t?] = []
        if names.isEmpty {
            // llama.cpp's rpc-server default: every GPU, else the CPU.
            for index in 0..<ggml_backend_dev_count() {
                guard let dev = ggml_backend_dev_get(index) else { continue }
                let type = ggml_backend_dev_type(dev)
                if type == GGML_BACKEND_DEVICE_TYPE_GPU || type == GGML_BACKEND_DEVICE_TYPE_IGPU { devices.append(dev) }
            }
            if devices.isEmpty, let cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) { devices.append(cpu) }
        } else {
            for name in names {
                guard let dev = ggml_backend_dev_by_name(name) else {
                    let known = EngineDevice.all().map(\.name).joined(separator: ", ")
                    throw .invalidArgument("no device named \(name) (this machine has \(known))")
                }
                devices.append(dev)
            }
        }
        devices.withUnsafeMutableBufferPointer { buffer in
            ggml_backend_rpc_start_server(endpoint, nil, threads, buffer.count, buffer.baseAddress)
        }
        throw .invalidArgument("the RPC server at \(endpoint) stopped: \(EngineLog.takeLastError())")
    }

    /// Connects to `endpoint` over TCP and closes again; the server treats the empty
    /// connection as a client that left, and accepts the next.
    /// - Throws: `LlamaError.invalidArgument` naming the endpoint and the reason.
    public static func probe(_ endpoint: String, timeout: Duration = .seconds(3)) throws(LlamaError) {
        guard let colon = endpoint.lastIndex(of: ":"), let port = UInt16(endpoint[endpoint.index(after: colon)...]),
              colon != endpoint.startIndex else {
            throw .invalidArgument("RPC server \(endpoint) is not host:port")
        }
        var host = String(endpoint[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let reason = TCPProbe.connect(host: host, port: port, timeout: timeout) {
            throw .invalidArgument("RPC server \(endpoint) is not reachable: \(reason)")
        }
    }

    private static let registered = Mutex<[String]>([])
    private static let handlerInstalled = Mutex<Bool>(false)

    /// From here on, an engine abort (a lost server among them) prints which servers no
    /// longer answer and exits with 70.
    private static func installAbortHandler() {
        handlerInstalled.withLock { done in
            guard !done else { return }
            done = true
            _ = ggml_set_abort_callback { message in
                let what = message.map { String(cString: $0) } ?? "engine abort"
                // A worker that just died may still hold its listening socket for a moment
                // after the connection broke: ask again for up to a second.
                var lost: [String] = []
                for _ in 0..<5 {
                    lost = RPCBackend.endpoints.filter { (try? RPCBackend.probe($0, timeout: .milliseconds(500))) == nil }
                    if !lost.isEmpty { break }
                    usleep(200_000)
                }
                let who = lost.isEmpty ? "every RPC server still answers" : "lost RPC server(s): " + lost.joined(separator: ", ")
                FileHandle.standardError.write(Data("corral: the engine stopped (\(what.trimmingCharacters(in: .whitespacesAndNewlines))); \(who). Exiting with status 70.\n".utf8))
                _exit(70)
            }
        }
    }
}
