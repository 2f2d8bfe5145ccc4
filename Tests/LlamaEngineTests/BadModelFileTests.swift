import Foundation
import CorralCore
import LlamaEngine
import Testing

@Suite("Bad model files give typed errors")
struct BadModelFileTests {
    func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("corral-\(UUID().uuidString)-\(name)").path
    }

    func loadError(_ path: String) -> LlamaError.Code? {
        do { _ = try LlamaModel(path: path, options: .init(gpuLayers: 0)); return nil } catch { return error.code }
    }

    @Test func missingFileIsFileNotFound() {
        #expect(loadError("/nonexistent/model.gguf") == .fileNotFound)
    }

    @Test func emptyFileIsNotGGUF() throws {
        let path = scratch("empty.gguf")
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(loadError(path) == .notGGUF)
    }

    @Test func otherFormatIsNotGGUF() throws {
        let path = scratch("text.gguf")
        try "this is not a model".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(loadError(path) == .notGGUF)
    }

    @Test(arguments: [24, 4096, 50_000_000])
    func truncatedGGUFIsCorrupt(keeping bytes: Int) throws {
        let path = scratch("truncated.gguf")
        let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: TestModels.smolPath))
        let head = try source.read(upToCount: bytes) ?? Data()
        try source.close()
        _ = FileManager.default.createFile(atPath: path, contents: head)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(loadError(path) == .corruptModel)
        // A cut inside the header fails at the header; a cut in the weights is caught by the
        // loader's bounds check, after the header has read fine.
        let headerReads = (try? GGUFReader.metadata(path: path)) != nil
        #expect(headerReads == (bytes > 1_000_000))
    }
}
