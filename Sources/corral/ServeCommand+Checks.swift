import ArgumentParser
import CorralEngine
import CorralServer
import Logging

/// `corral serve`'s checks before it starts: the log level, the whole configuration, and
/// with `--check-config` the model too.
extension ServeCommand {
    /// The log level from `NIM_LOG_LEVEL`: swift-log's names and NIM's (`DEFAULT` is info,
    /// `CRITICAL` critical, `WARN` warning), in any case.
    func level() throws(ServerConfig.Invalid) -> Logger.Level {
        let text = Environment.string(.logLevel, flag: logLevel) ?? "DEFAULT"
        switch text.lowercased() {
        case "default": return .info
        case "warn": return .warning
        case let name:
            guard let level = Logger.Level(rawValue: name) else {
                throw .init(description: "NIM_LOG_LEVEL=\(text) (--log-level) must be DEFAULT, TRACE, DEBUG, INFO, NOTICE, WARNING, ERROR or CRITICAL")
            }
            return level
        }
    }

    /// The configuration, log level and log format, or the one-line reason they cannot serve.
    func validated() throws(ValidationError) -> (ServerConfig, Logger.Level, Bool) {
        do {
            let config = try self.config()
            let level = try self.level()
            let jsonl = try Environment.bool(.jsonlLogging, flag: jsonlLogging, default: false)
            if checkConfig { try checkModel(config) }
            return (config, level, jsonl)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// `--check-config`'s model check: a download names a well-formed source, anything else
    /// resolves to a GGUF file now (so an empty cache is reported here, not at startup).
    func checkModel(_ config: ServerConfig) throws(ServerConfig.Invalid) {
        if ModelDownload.isRemote(config.model) {
            do { _ = try ModelDownload.resolve(config.model) } catch {
                throw .init(description: "NIM_MODEL_NAME=\(config.model): \(error.message)")
            }
            return
        }
        do { _ = try EngineLoader.locate(config) } catch { throw .init(description: "\(error)") }
    }
}
