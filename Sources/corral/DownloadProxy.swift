import AsyncHTTPClient
import Foundation

/// The proxy a download goes through, from the variables curl, pip and Hugging Face's
/// tools read: `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones (either case),
/// unless the host matches `NO_PROXY`. AsyncHTTPClient reads none of them itself, and a
/// cluster behind a proxy is where `download-to-cache` runs as an init container.
enum DownloadProxy {
    /// A client for `url`: through its proxy when one applies. Shut it down after use.
    /// - Throws: `DownloadError` when the proxy variable is not a URL.
    static func client(for url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.proxy = try proxy(for: url, environment: environment)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The proxy for `url`, or `nil` for a direct connection.
    static func proxy(for url: String, environment: [String: String]) throws -> HTTPClient.Configuration.Proxy? {
        guard let target = URL(string: url), let host = target.host?.lowercased() else { return nil }
        func value(_ name: String) -> String? {
            [name, name.lowercased()].lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        if let noProxy = value("NO_PROXY"), bypasses(host: host, noProxy: noProxy) { return nil }
        let name = target.scheme?.lowercased() == "https" ? "HTTPS_PROXY" : "HTTP_PROXY"
        guard let raw = value(name) else { return nil }
        guard let proxy = URL(string: raw.contains("://") ? raw : "http://" + raw), let proxyHost = proxy.host else {
            throw DownloadError("\(name) is not a proxy URL", retryable: false)
        }
        let port = proxy.port ?? (proxy.scheme == "https" ? 443 : 80)
        let authorization = proxy.user.map { HTTPClient.Authorization.basic(username: $0, password: proxy.password ?? "") }
        return .server(host: proxyHost, port: port, authorization: authorization)
    }

    /// Whether `host` is in a `NO_PROXY` list: `*`, a host, or a domain (`example.com` and
    /// `.example.com` both cover its subdomains); ports in entries are ignored.
    static func bypasses(host: String, noProxy: String) -> Bool {
        noProxy.split(separator: ",").contains { item in
            let entry = item.trimmingCharacters(in: .whitespaces).lowercased()
            if entry == "*" { return true }
            let domain = String((entry.hasPrefix(".") ? entry.dropFirst() : Substring(entry)).split(separator: ":").first ?? "")
            return !domain.isEmpty && (host == domain || host.hasSuffix("." + domain))
        }
    }
}
