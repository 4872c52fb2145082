// Real certificates made with openssl from the parameters the program gives
// @pulumi/tls (components/storeApiTls.ts), as registered in the mock run: the
// key algorithm and curve, each subject, the CA flag, the key usages and the
// SANs, followed from a TLS Secret to the resources behind its PEMs. The
// provider builds the same X.509 fields (terraform-provider-tls
// internal/provider/common_cert.go: basic constraints always valid, IsCA from
// is_ca_certificate, key usage and extended key usage from allowed_uses, the
// request's DNS names copied into a locally signed certificate).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ProgramRun, RecordedResource } from "../harness";
import { CertificateSecret } from "./deployment";

const keyUsages: Record<string, string> = {
    digital_signature: "digitalSignature",
    key_encipherment: "keyEncipherment",
    cert_signing: "keyCertSign",
    crl_signing: "cRLSign",
};
const extendedKeyUsages: Record<string, string> = { server_auth: "serverAuth", client_auth: "clientAuth" };

export interface IssueOptions {
    /**
     * Signed by a CA of the same parameters that the program never made: a
     * stranger's certificate. Its holder still trusts the program's CA, so
     * that what is refused is this certificate, not the other end's.
     */
    strangerCa?: boolean;
    /** Issued without the request's DNS names: a server certificate without the name clients check. */
    withoutSans?: boolean;
}

export class Certificates {
    constructor(
        private readonly directory: string,
        private readonly run: ProgramRun,
        private readonly openssl: string,
    ) {
        fs.mkdirSync(directory, { recursive: true });
    }

    /**
     * The files of a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) in a
     * folder of their own, for the certificate the program puts in that Secret.
     */
    issue(secret: CertificateSecret, options: IssueOptions = {}): string {
        const folder = path.join(
            this.directory,
            `${secret.certificate}${options.strangerCa ? "-stranger-ca" : ""}${options.withoutSans ? "-without-sans" : ""}`,
        );
        fs.mkdirSync(folder, { recursive: true });
        const certificate = this.resource("tls:index/locallySignedCert:LocallySignedCert", secret.certificate);
        const request = this.resource("tls:index/certRequest:CertRequest", pemName(certificate.inputs.certRequestPem));
        const caName = pemName(certificate.inputs.caCertPem);
        const ca = this.certificateAuthority(caName, options.strangerCa ? "stranger" : "program");
        const trusted = this.certificateAuthority(caName, "program");
        const key = this.key(pemName(request.inputs.privateKeyPem), path.join(folder, "tls.key"));
        const extensions = path.join(folder, "extensions.cnf");
        fs.writeFileSync(
            extensions,
            [
                "basicConstraints=critical,CA:FALSE",
                ...usageLines(certificate.inputs.allowedUses),
                ...(options.withoutSans || (request.inputs.dnsNames ?? []).length === 0
                    ? []
                    : [`subjectAltName=${request.inputs.dnsNames.map((name: string) => `DNS:${name}`).join(",")}`]),
            ].join("\n"),
        );
        this.openssl_("req", "-new", "-key", key, "-subj", subject(request.inputs.subject), "-out", path.join(folder, "tls.csr"));
        this.openssl_(
            "x509",
            "-req",
            "-in",
            path.join(folder, "tls.csr"),
            "-CA",
            ca.certificate,
            "-CAkey",
            ca.key,
            "-CAcreateserial",
            "-days",
            days(certificate.inputs.validityPeriodHours),
            "-extfile",
            extensions,
            "-out",
            path.join(folder, "tls.crt"),
        );
        fs.copyFileSync(trusted.certificate, path.join(folder, "ca.crt"));
        return folder;
    }

    /** The certificate a file holds, as openssl prints it: for assertions on what was made. */
    text(file: string): string {
        return this.openssl_("x509", "-in", file, "-noout", "-text");
    }

    private certificateAuthority(name: string, whose: "program" | "stranger"): { certificate: string; key: string } {
        const folder = path.join(this.directory, `${name}-${whose}`);
        const certificate = path.join(folder, "ca.crt");
        if (!fs.existsSync(certificate)) {
            fs.mkdirSync(folder, { recursive: true });
            const ca = this.resource("tls:index/selfSignedCert:SelfSignedCert", name);
            const key = this.key(pemName(ca.inputs.privateKeyPem), path.join(folder, "ca.key"));
            // req reads its extensions from a config section: exactly the program's, nothing of openssl's defaults.
            const config = path.join(folder, "req.cnf");
            fs.writeFileSync(
                config,
                [
                    "[req]",
                    "distinguished_name = dn",
                    "[dn]",
                    "[ca]",
                    `basicConstraints=critical,CA:${ca.inputs.isCaCertificate ? "TRUE" : "FALSE"}`,
                    ...usageLines(ca.inputs.allowedUses),
                    "subjectKeyIdentifier=hash",
                ].join("\n"),
            );
            this.openssl_(
                "req",
                "-x509",
                "-new",
                "-key",
                key,
                "-subj",
                subject(ca.inputs.subject),
                "-days",
                days(ca.inputs.validityPeriodHours),
                "-config",
                config,
                "-extensions",
                "ca",
                "-out",
                certificate,
            );
        }
        return { certificate, key: path.join(folder, "ca.key") };
    }

    /** A private key with the program's algorithm (ECDSA with its curve, or RSA with its size). */
    private key(resourceName: string, file: string): string {
        const inputs = this.resource("tls:index/privateKey:PrivateKey", resourceName).inputs;
        if (inputs.algorithm === "ECDSA") {
            const curve = { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" }[inputs.ecdsaCurve as string];
            this.openssl_("genpkey", "-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`, "-out", file);
        } else if (inputs.algorithm === "RSA") {
            this.openssl_("genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${inputs.rsaBits ?? 2048}`, "-out", file);
        } else {
            throw new Error(`key ${resourceName}: algorithm ${inputs.algorithm} is not made here`);
        }
        return file;
    }

    private resource(type: string, name: string): RecordedResource {
        return this.run.one(type, name);
    }

    private openssl_(...args: string[]): string {
        const result = spawnSync(this.openssl, args, { encoding: "utf8" });
        if (result.status !== 0) {
            throw new Error(`openssl ${args.join(" ")}: ${result.stderr.trim()}`);
        }
        return result.stdout;
    }
}

/** The mocks return a PEM whose body is its resource's name (test/harness.ts, mockState). */
function pemName(pem: string): string {
    const name = /-----\n(.*)\n-----END/.exec(pem)?.[1];
    if (name === undefined) {
        throw new Error(`not a mock PEM: ${pem.slice(0, 40)}`);
    }
    return name;
}

function usageLines(allowedUses: string[]): string[] {
    const usages = allowedUses.filter((use) => use in keyUsages).map((use) => keyUsages[use]);
    const extended = allowedUses.filter((use) => use in extendedKeyUsages).map((use) => extendedKeyUsages[use]);
    const unknown = allowedUses.filter((use) => !(use in keyUsages) && !(use in extendedKeyUsages));
    if (unknown.length > 0) {
        throw new Error(`allowed uses not made here: ${unknown.join(", ")}`);
    }
    return [
        ...(usages.length > 0 ? [`keyUsage=critical,${usages.join(",")}`] : []),
        ...(extended.length > 0 ? [`extendedKeyUsage=${extended.join(",")}`] : []),
    ];
}

function subject(fields: { commonName?: string; organization?: string }): string {
    return `${fields.organization === undefined ? "" : `/O=${fields.organization}`}/CN=${fields.commonName ?? ""}`;
}

const days = (hours: number) => String(Math.max(1, Math.floor(hours / 24)));
