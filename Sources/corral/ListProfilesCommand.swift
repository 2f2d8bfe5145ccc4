import ArgumentParser
import Foundation
import CorralCore
import CorralServer
import LlamaEngine

/// `corral list-model-profiles`: which engine backends this build has and which one
/// `serve` would use, as NIM's command of the same name lists its profiles.
struct ListProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-model-profiles",
        abstract: "List the engine backends in this build and the one `serve` would pick.")

    @Option(help: ArgumentHelp(ServeSetting.gpuLayers.help))
    var gpuLayers: Int?
    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let devices = EngineDevice.all()
        let layers = try Environment.int(.gpuLayers, flag: gpuLayers, default: ServeDefaults.gpuLayers)
        let gpus = EngineDevice.servingGPUs(gpuLayers: layers, among: devices)
        let pick = !gpus.isEmpty
            ? "\(gpus[0].backend.lowercased()) (\(gpus.map(\.name).joined(separator: ", ")), \(layers < 0 ? "all" : String(layers)) layers)"
            : "cpu"
        if json {
            let entries = devices.map { d -> [String: String] in
                ["name": d.name, "backend": d.backend, "kind": d.kind.rawValue, "description": d.description,
                 "free_bytes": String(d.freeBytes), "total_bytes": String(d.totalBytes)]
            }
            let data = try JSONSerialization.data(withJSONObject: ["devices": entries, "selected": pick] as [String: Any],
                                                  options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("engine: \(LlamaModel.engineVersion)")
        print("DEVICE       BACKEND  KIND   MEMORY (free/total)    DESCRIPTION")
        for d in devices {
            let memory = d.totalBytes > 0 ? String(format: "%.1f/%.1f GiB", Double(d.freeBytes) / 1_073_741_824,
                                                   Double(d.totalBytes) / 1_073_741_824) : "-"
            print(d.name.padding(toLength: 12, withPad: " ", startingAt: 0) + " "
                  + d.backend.padding(toLength: 8, withPad: " ", startingAt: 0) + " "
                  + d.kind.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0) + " "
                  + memory.padding(toLength: 22, withPad: " ", startingAt: 0) + " " + d.description)
        }
        print("serve would use: \(pick)")
    }
}
