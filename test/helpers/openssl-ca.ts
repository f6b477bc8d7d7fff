/**
 * Throwaway X.509 certificates for certificate-chain tests, made with the `openssl` CLI (Node's
 * crypto parses certificates but cannot issue them, and no installed package can either).
 * `openssl ca` rather than `openssl x509 -req` because only it sets arbitrary validity dates
 * in OpenSSL 3.0, which the expired-certificate cases need.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

export interface IssuedCert {
  certPath: string;
  keyPath: string;
  pem: string;
  der: Buffer;
}

export interface CertSpec {
  cn: string;
  ca?: boolean;
  /** keyUsage value, e.g. "critical, keyCertSign, cRLSign"; omitted when undefined. */
  keyUsage?: string;
  /** extendedKeyUsage value, e.g. "codeSigning". */
  extKeyUsage?: string;
  /** openssl ca dates, YYYYMMDDHHMMSSZ; default: one hour ago to one year on. */
  startDate?: string;
  endDate?: string;
  /** EC curve of the subject key (default P-256). */
  curve?: "prime256v1" | "secp384r1";
  /** More extension lines in openssl's config syntax, e.g. "subjectAltName = email:a@example.com". */
  extensions?: string[];
}

function opensslDate(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
}

/** A scratch CA directory; `issue` makes self-signed roots (no issuer) and issued certificates. */
export function makeCertificateFactory(): { dir: string; issue(spec: CertSpec, issuer?: IssuedCert): IssuedCert } {
  const dir = mkdtempSync(join(tmpdir(), "mg-ca-"));
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");
  writeFileSync(
    join(dir, "ca.cnf"),
    [
      "[ ca ]",
      "default_ca = ca_default",
      "[ ca_default ]",
      `database = ${join(dir, "index.txt")}`,
      `new_certs_dir = ${dir}`,
      `serial = ${join(dir, "serial")}`,
      "default_md = sha256",
      "policy = policy_any",
      "unique_subject = no",
      "email_in_dn = no",
      "[ policy_any ]",
      "commonName = supplied",
      "[ req ]",
      "distinguished_name = dn",
      "[ dn ]",
      "",
    ].join("\n"),
  );
  let n = 0;
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });

  return {
    dir,
    issue(spec: CertSpec, issuer?: IssuedCert): IssuedCert {
      const name = `c${n++}`;
      const keyPath = join(dir, `${name}.key`);
      const csrPath = join(dir, `${name}.csr`);
      const certPath = join(dir, `${name}.pem`);
      const extPath = join(dir, `${name}.ext`);
      run(["ecparam", "-name", spec.curve ?? "prime256v1", "-genkey", "-noout", "-out", keyPath]);
      run(["req", "-new", "-key", keyPath, "-subj", `/CN=${spec.cn}`, "-config", join(dir, "ca.cnf"), "-out", csrPath]);
      const ext = [
        "[ v3 ]",
        `basicConstraints = critical, CA:${spec.ca ? "TRUE" : "FALSE"}`,
        "subjectKeyIdentifier = hash",
        ...(issuer ? ["authorityKeyIdentifier = keyid"] : []),
        ...(spec.keyUsage ? [`keyUsage = ${spec.keyUsage}`] : []),
        ...(spec.extKeyUsage ? [`extendedKeyUsage = ${spec.extKeyUsage}`] : []),
        ...(spec.extensions ?? []),
      ];
      writeFileSync(extPath, `${ext.join("\n")}\n`);
      const now = Date.now();
      run([
        "ca", "-batch", "-notext", "-config", join(dir, "ca.cnf"),
        ...(issuer ? ["-cert", issuer.certPath, "-keyfile", issuer.keyPath] : ["-selfsign", "-keyfile", keyPath]),
        "-in", csrPath, "-out", certPath,
        "-startdate", spec.startDate ?? opensslDate(new Date(now - 3600_000)),
        "-enddate", spec.endDate ?? opensslDate(new Date(now + 365 * 86400_000)),
        "-extfile", extPath, "-extensions", "v3",
      ]);
      const pem = readFileSync(certPath, "utf8");
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
      return { certPath, keyPath, pem, der };
    },
  };
}
