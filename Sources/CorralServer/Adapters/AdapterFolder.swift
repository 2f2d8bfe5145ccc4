import Foundation

/// What `NIM_PEFT_SOURCE` holds, read without loading anything. NIM's layout: one folder
/// per adapter, named as clients will name the model, holding the adapter; a bare
/// `<name>.gguf` works too. Hidden entries and other files are ignored.
enum AdapterFolder {
    /// One adapter found.
    struct Found: Sendable, Equatable {
        /// The model name clients send.
        var name: String
        /// The adapter file, or nil when the folder has none usable (see `problem`).
        var path: String?
        /// The file's size and modification time: a change reloads the adapter.
        var stamp: String
        /// Why it cannot be loaded, when the layout is wrong.
        var problem: String?
    }

    /// The adapters in `directory`, sorted by name.
    /// - Throws: when the folder itself cannot be read.
    static func scan(_ directory: String) throws -> [Found] {
        let fm = FileManager.default
        var found: [Found] = []
        for entry in try fm.contentsOfDirectory(atPath: directory).sorted() where !entry.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(entry)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                let files = ((try? fm.contentsOfDirectory(atPath: path)) ?? [])
                    .filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".gguf") }.sorted()
                switch files.count {
                case 1:
                    let file = (path as NSString).appendingPathComponent(files[0])
                    found.append(Found(name: entry, path: file, stamp: stamp(file)))
                case 0:
                    found.append(Found(name: entry, path: nil, stamp: "",
                                       problem: "no .gguf adapter in the folder (convert a PEFT adapter with llama.cpp's convert_lora_to_gguf.py)"))
                default:
                    found.append(Found(name: entry, path: nil, stamp: files.joined(separator: ","),
                                       problem: "more than one .gguf in the folder: \(files.joined(separator: ", "))"))
                }
            } else if entry.lowercased().hasSuffix(".gguf") {
                found.append(Found(name: String(entry.dropLast(5)), path: path, stamp: stamp(path)))
            }
        }
        return found
    }

    /// Size and modification time, which change when the file is replaced.
    private static func stamp(_ path: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(size)@\(modified)"
    }
}
