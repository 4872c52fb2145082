import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/**
 * The name every sidecar's certificate carries and every client checks,
 * whatever address reached it (a pod IP from DNS SRV, a kind node's NodePort,
 * a load balancer): set as the client's server name.
 */
export const storeApiServerName = "storeapi.thanos-global-view.internal";

/**
 * How long certificates live, and how early `pulumi up` renews them: the
 * provider plans a replacement on any update inside the renewal window
 * (terraform-provider-tls internal/provider/common_cert.go:268-312, bridged by
 * @pulumi/tls), so a monthly `pulumi up` keeps them current.
 */
const certificateLifetime = {
    ca: { validityPeriodHours: 10 * 365 * 24, earlyRenewalHours: 365 * 24 },
    leaf: { validityPeriodHours: 365 * 24, earlyRenewalHours: 30 * 24 },
} as const;

/** A key and its certificate, in PEM, plus the CA that signed it: what a Kubernetes TLS Secret holds. */
export interface CertificatePems {
    certPem: pulumi.Output<string>;
    privateKeyPem: pulumi.Output<string>;
    caCertPem: pulumi.Output<string>;
}

/** What a `kubernetes.io/tls` Secret holds for a certificate, its key and its CA: the files every end of the StoreAPI reads. */
export function tlsSecretData(pems: CertificatePems): Record<string, pulumi.Output<string>> {
    return { "tls.crt": pems.certPem, "tls.key": pems.privateKeyPem, "ca.crt": pems.caCertPem };
}

export interface StoreApiTlsArgs {
    /** One server certificate per region, for its sidecars. */
    regions: string[];
    /** And one for the Store Gateway, which serves the StoreAPI like a sidecar. */
    storeGateway: boolean;
    /** And one for the Ruler pair, whose StoreAPI serves the global alerts. */
    ruler: boolean;
}

/**
 * The StoreAPI's own certificate authority: a server certificate for every
 * region's sidecars and one client certificate for the global querier. The
 * sidecars accept only clients with a certificate from this CA, so plaintext
 * or a stranger's client never reaches a sidecar. Keys stay secrets in state.
 */
export class StoreApiTls extends pulumi.ComponentResource {
    readonly servers: ReadonlyMap<string, CertificatePems>;
    readonly storeGateway?: CertificatePems;
    readonly ruler?: CertificatePems;
    readonly client: CertificatePems;

    constructor(name: string, args: StoreApiTlsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:security:StoreApiTls", name, {}, opts);
        const key = (keyName: string) => new tls.PrivateKey(keyName, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });

        const caKey = key(`${name}-ca`);
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                subject: { commonName: "thanos-global-view StoreAPI CA" },
                isCaCertificate: true,
                allowedUses: ["cert_signing", "crl_signing"],
                ...certificateLifetime.ca,
            },
            { parent: this },
        );

        const issue = (leafName: string, commonName: string, usage: "server_auth" | "client_auth"): CertificatePems => {
            const leafKey = key(leafName);
            const request = new tls.CertRequest(
                leafName,
                {
                    privateKeyPem: leafKey.privateKeyPem,
                    subject: { commonName },
                    dnsNames: usage === "server_auth" ? [storeApiServerName] : [],
                },
                { parent: this },
            );
            const certificate = new tls.LocallySignedCert(
                leafName,
                {
                    certRequestPem: request.certRequestPem,
                    caPrivateKeyPem: caKey.privateKeyPem,
                    caCertPem: ca.certPem,
                    allowedUses: ["digital_signature", "key_encipherment", usage],
                    ...certificateLifetime.leaf,
                },
                { parent: this },
            );
            return { certPem: certificate.certPem, privateKeyPem: pulumi.secret(leafKey.privateKeyPem), caCertPem: ca.certPem };
        };

        this.servers = new Map(args.regions.map((region) => [region, issue(`${name}-${region}`, `${region} sidecars`, "server_auth")]));
        this.storeGateway = args.storeGateway ? issue(`${name}-store-gateway`, "store gateway", "server_auth") : undefined;
        this.ruler = args.ruler ? issue(`${name}-ruler`, "ruler", "server_auth") : undefined;
        this.client = issue(`${name}-querier`, "global querier", "client_auth");
        this.registerOutputs({});
    }
}
