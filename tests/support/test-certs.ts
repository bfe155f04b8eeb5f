import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import forge from "node-forge";

/** A certificate and its private key, as PEM, and where they were written. */
export interface Issued {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

/** A throw-away CA, made at test time (no certificate is ever committed). */
export interface TestCa extends Issued {
  /** A server certificate for 127.0.0.1 and localhost. */
  server(): Issued;
  /** A client certificate with subject CN and one OU per group. */
  client(cn: string, groups?: readonly string[]): Issued;
}

/**
 * Makes a CA in a temporary directory with node-forge (keys from node:crypto, which is fast),
 * valid from an hour ago for a day.
 *
 * @example const ca = createTestCa(); const server = ca.server(); const alice = ca.client("alice", ["readers"]);
 */
export function createTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "prism-certs-"));
  const caKeys = keyPair();
  const caName = [{ name: "commonName", value: "Prism Test CA" }];
  const caCert = certificate(caKeys.publicKey, caName, caName, caKeys.privateKey, [
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
  ]);
  let count = 0;
  const write = (name: string, cert: forge.pki.Certificate, keyPem: string): Issued => {
    const certPem = forge.pki.certificateToPem(cert);
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    writeFileSync(certFile, certPem);
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    return { certPem, keyPem, certFile, keyFile };
  };
  const ca = write("ca", caCert, caKeys.keyPem);
  const issue = (subject: forge.pki.CertificateField[], extensions: object[]) => {
    const keys = keyPair();
    const cert = certificate(keys.publicKey, subject, caName, caKeys.privateKey, [
      { name: "basicConstraints", cA: false },
      ...extensions,
    ]);
    return write(`leaf-${++count}`, cert, keys.keyPem);
  };
  return {
    ...ca,
    server: () =>
      issue(
        [{ name: "commonName", value: "localhost" }],
        [
          { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
          { name: "extKeyUsage", serverAuth: true },
          {
            name: "subjectAltName",
            altNames: [
              { type: 2, value: "localhost" },
              { type: 7, ip: "127.0.0.1" },
            ],
          },
        ],
      ),
    client: (cn, groups = []) =>
      issue(
        [{ name: "commonName", value: cn }, ...groups.map((group) => ({ shortName: "OU", value: group }))],
        [
          { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
          { name: "extKeyUsage", clientAuth: true },
        ],
      ),
  };
}

function keyPair() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  return { keyPem, privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

function certificate(
  publicKey: forge.pki.PublicKey,
  subject: forge.pki.CertificateField[],
  issuer: forge.pki.CertificateField[],
  signingKey: forge.pki.rsa.PrivateKey,
  extensions: object[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${randomBytes(8).toString("hex")}`;
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  cert.setExtensions(extensions);
  cert.sign(signingKey, forge.md.sha256.create());
  return cert;
}
