import { readFileSync } from "node:fs";
import { ServerCredentials } from "@grpc/grpc-js";
import type { TlsConfig } from "./auth-config.js";

/**
 * The gRPC listener's credentials: plaintext without a `tls` section (loopback, or a TLS-ending
 * proxy in front), else TLS with the configured certificate; with `clientCaFile`, clients must
 * present a certificate that CA signed (the handshake fails otherwise).
 */
export function serverCredentials(tls: TlsConfig): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const ca = tls.clientCaFile ? readFileSync(tls.clientCaFile) : null;
  return ServerCredentials.createSsl(
    ca,
    [{ private_key: readFileSync(tls.keyFile), cert_chain: readFileSync(tls.certFile) }],
    ca !== null,
  );
}
