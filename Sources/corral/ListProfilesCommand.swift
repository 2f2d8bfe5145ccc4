import ArgumentParser
import CorralCore
import CorralEngine
import CorralServer
import Foundation
import LlamaEngine

/// `corral list-model-profiles`: the devices this build sees and the parallel layouts they
/// give, named as NIM names its profiles (`llamacpp-cuda-tp2-pp1`); with a model, whether
/// it fits each. `NIM_MODEL_PROFILE` picks one for `serve`.
struct ListProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-model-profiles",
        abstract: "List the devices, the parallel layouts they give and whether the model fits each.")

    @Option(help: ArgumentHelp(ServeSetting.gpuLayers.help))
    var gpuLayers: Int?
    @Option(help: "A GGUF path or cached model name, to say whether it fits each profile (NIM_MODEL_NAME).")
    var model: String?
    @Option(help: ArgumentHelp(ServeSetting.cachePath.help))
    var cachePath: String?
    @OptionGroup(title: "Devices")
    var parallel: ParallelOptions
    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let settings = try parallel.settings()
        try RPCBackend.add(settings.rpcServers)
        let layers = try Environment.int(.gpuLayers, flag: gpuLayers, default: ServeDefaults.gpuLayers)
        let visible = layers == 0 ? EngineLoader.visibleDevices().filter { $0.kind == .cpu } : EngineLoader.visibleDevices()
        let shape = try modelShape()
        let share = ServeDefaults.gpuMemoryUtilization
        let profiles = ParallelLayout.profiles(visible: visible, shape: shape, lora: false, memoryShare: share)
        // What serve's auto would pick: with a model, the decision itself; without, one device.
        let selected = try shape.map {
            try ParallelLayout.choose(settings, shape: $0, visible: visible, gpuLayers: layers, lora: false, memoryShare: share)
        } ?? profiles[0].layout
        if json {
            let devices = visible.map { d -> [String: String] in
                ["name": d.name, "kind": d.kind.rawValue, "description": d.description,
                 "free_bytes": String(d.freeBytes), "total_bytes": String(d.totalBytes)]
            }
            let entries = profiles.map { p -> [String: String] in
                ["profile": p.layout.profile, "split_mode": p.layout.mode.rawValue,
                 "devices": p.layout.devices.map(\.name).joined(separator: ","),
                 "fits": p.fits.map { $0 ? "yes" : "no" } ?? "unknown", "note": p.note]
            }
            let data = try JSONSerialization.data(withJSONObject: ["devices": devices, "profiles": entries, "selected": selected.profile] as [String: Any],
                                                  options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("engine: \(LlamaModel.engineVersion)")
        print("DEVICE       KIND   MEMORY (free/total)    DESCRIPTION")
        for d in visible {
            let memory = d.totalBytes > 0 ? String(format: "%.1f/%.1f GiB", Double(d.freeBytes) / 1_073_741_824,
                                                   Double(d.totalBytes) / 1_073_741_824) : "-"
            print(pad(d.name, 12) + " " + pad(d.kind.rawValue, 6) + " " + pad(memory, 22) + " " + d.description)
        }
        print("")
        print(pad("PROFILE", 28) + " " + pad("FITS", 7) + " NOTE")
        for p in profiles {
            print(pad(p.layout.profile, 28) + " " + pad(p.fits.map { $0 ? "yes" : "no" } ?? "-", 7) + " " + p.note)
        }
        print("serve would use: \(selected.profile) (\(selected.reason))")
    }

    private func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }

    /// The model's shape from its header, when a model is named and found.
    private func modelShape() throws -> ParallelShape? {
        guard let name = model ?? Environment.string(ServeSetting.model.name) else { return nil }
        let path = try ModelLocator.resolve(name, cacheDirectory: cachePath ?? Environment.string(ServeSetting.cachePath.name)
                                            ?? ServeDefaults.cachePath)
        return try EngineLoader.modelShape(path: path)
    }
}
