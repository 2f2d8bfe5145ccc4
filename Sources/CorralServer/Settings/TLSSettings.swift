public import NIOSSL

/// TLS for the HTTP server, NIM style: `NIM_SSL_MODE` is `DISABLED`, `TLS` (server
/// certificate) or `MTLS` (clients must also present a certificate signed by the CA in
/// `NIM_SSL_CA_CERTS_PATH`). Files are PEM.
public struct TLSSettings: Sendable, Equatable {
    /// What the server asks of the connection.
    public enum Mode: String, Sendable, CaseIterable {
        /// Plain HTTP.
        case disabled = "DISABLED"
        /// HTTPS with the server's certificate.
        case tls = "TLS"
        /// HTTPS, and clients present a certificate the CA signed.
        case mtls = "MTLS"
    }

    /// The mode.
    public var mode: Mode
    /// The server's private key (`NIM_SSL_KEY_PATH`).
    public var keyPath: String?
    /// The server's certificate chain, leaf first (`NIM_SSL_CERTS_PATH`).
    public var certsPath: String?
    /// CA certificates that sign client certificates, for MTLS (`NIM_SSL_CA_CERTS_PATH`).
    public var caCertsPath: String?

    /// Creates settings; the default is plain HTTP.
    public init(mode: Mode = .disabled, keyPath: String? = nil, certsPath: String? = nil, caCertsPath: String? = nil) {
        self.mode = mode
        self.keyPath = keyPath
        self.certsPath = certsPath
        self.caCertsPath = caCertsPath
    }

    /// A setting that cannot be used; the message names it.
    public struct Problem: Error, CustomStringConvertible {
        /// One line for the operator.
        public let description: String
    }

    /// Loads the key and certificates, or nil for plain HTTP. Every file is read here, at
    /// startup, so a bad path stops the server with its name instead of failing handshakes.
    /// - Throws: `Problem` naming the missing setting or the unreadable file.
    public func configuration() throws(Problem) -> TLSConfiguration? {
        guard mode != .disabled else { return nil }
        guard let keyPath else { throw Problem(description: "NIM_SSL_MODE=\(mode.rawValue) needs NIM_SSL_KEY_PATH") }
        guard let certsPath else { throw Problem(description: "NIM_SSL_MODE=\(mode.rawValue) needs NIM_SSL_CERTS_PATH") }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(certsPath) } catch {
            throw Problem(description: "cannot read the certificate chain \(certsPath): \(error)")
        }
        guard !chain.isEmpty else { throw Problem(description: "no PEM certificate in \(certsPath)") }
        do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw Problem(description: "cannot read the private key \(keyPath): \(error)")
        }
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                              privateKey: .privateKey(key))
        config.minimumTLSVersion = .tlsv12
        if mode == .mtls {
            guard let caCertsPath else { throw Problem(description: "NIM_SSL_MODE=MTLS needs NIM_SSL_CA_CERTS_PATH") }
            let roots: [NIOSSLCertificate]
            do { roots = try NIOSSLCertificate.fromPEMFile(caCertsPath) } catch {
                throw Problem(description: "cannot read the CA certificates \(caCertsPath): \(error)")
            }
            guard !roots.isEmpty else { throw Problem(description: "no PEM certificate in \(caCertsPath)") }
            // Clients have no host name to check: the chain to our CA is the identity.
            config.certificateVerification = .noHostnameVerification
            config.trustRoots = .certificates(roots)
        }
        return config
    }
}
