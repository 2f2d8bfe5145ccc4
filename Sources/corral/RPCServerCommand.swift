import ArgumentParser
import CorralEngine
import CorralServer
import Foundation
import LlamaEngine

/// `corral rpc-server`: serves this machine's devices to a `corral serve` leader over
/// llama.cpp's RPC protocol (llama.cpp's own `rpc-server`, in this binary, so that worker
/// and leader are always the same build, as the protocol requires).
struct RPCServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc-server",
        abstract: "Serve this machine's devices to a `corral serve --rpc` leader (experimental).",
        discussion: """
            The protocol has no authentication and no encryption: whoever reaches the port can run \
            graphs on the devices and read their memory. Bind it to an address only the leader can \
            reach (the chart's NetworkPolicy admits the leader alone).
            """)

    @Option(help: "Address to bind; 0.0.0.0 only inside a private pod network.")
    var host = "127.0.0.1"
    @Option(help: "Port to bind.")
    var port = 50052
    @Option(help: "CPU threads for a CPU device; 0 is the CPUs this process may use.")
    var threads = 0
    @Option(name: .customLong("device"), parsing: .singleValue,
            help: "A device to serve, by engine name (CUDA0); repeat it for more. Default: every GPU, else the CPU.")
    var devices: [String] = []

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port \(port) must be between 1 and 65535") }
        guard threads >= 0 else { throw ValidationError("--threads \(threads) must be 0 or more") }
    }

    func run() throws {
        let budget = CPUBudget.resolve(configured: threads)
        let endpoint = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if host == "0.0.0.0" || host == "::" {
            FileHandle.standardError.write(Data("corral rpc-server: listening on every interface, unauthenticated; keep \(port) inside the pod network\n".utf8))
        }
        do {
            try RPCBackend.serve(endpoint: endpoint, threads: budget.threads, devices: devices.flatMap { ParallelSettings.list($0) })
        } catch {
            FileHandle.standardError.write(Data("corral rpc-server: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
