import Foundation
import LlamaEngine
import Testing

/// What a cached model's name finds, as the README promises it.
@Suite("Model locator")
struct ModelLocatorTests {
    func cache(_ files: [String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("corral-cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/models", withIntermediateDirectories: true)
        for f in files { _ = FileManager.default.createFile(atPath: root + "/models/" + f, contents: Data()) }
        return root
    }

    @Test(arguments: ["Llama-3.1-8B-Instruct-Q4_K_M.gguf", "Llama-3.1-8B-Instruct.Q4_1.gguf",
                      "Llama-3.1-8B-Instruct_q8_0.gguf", "Llama-3.1-8B-Instruct.gguf"])
    func aNameFindsItsOneQuantizedFile(file: String) throws {
        let root = try cache([file, "Other-Q4_K_M.gguf"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try ModelLocator.resolve("Llama-3.1-8B-Instruct", cacheDirectory: root) == root + "/models/" + file)
    }

    @Test func twoCandidatesAreNotGuessed() throws {
        let root = try cache(["M-Q4_K_M.gguf", "M-Q8_0.gguf"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: LlamaError.self) { try ModelLocator.resolve("M", cacheDirectory: root) }
    }

    @Test func anEmptyCacheNamesTheCommandThatFillsIt() throws {
        let root = try cache([])
        defer { try? FileManager.default.removeItem(atPath: root) }
        do { _ = try ModelLocator.resolve("M", cacheDirectory: root); Issue.record("found") } catch {
            #expect("\(error)".contains("download-to-cache"))
        }
    }
}
