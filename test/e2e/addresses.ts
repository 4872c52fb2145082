// The one place where an e2e tier changes what the program deployed: its
// addresses and its container paths. Cluster DNS names, Service names and
// kind NodePorts become the loopback (or a network namespace's) address of
// the real process behind them; a container's file paths become files of
// the tier's scratch folder. Every flag, label and config value stays as the
// program registered it (deployment.ts); a flag this file is told to change
// but cannot find is an error, so a renamed flag is noticed, not skipped.
import * as yaml from "js-yaml";

export class AddressMap {
    /** Addresses that stand for several replicas (StoreAPI endpoints, an Alertmanager or memcached Service) → the processes behind them. */
    private readonly endpoints = new Map<string, string[]>();
    /** host:port, URLs and hosts the program names → where they are here, longest first when applied. */
    private readonly hosts: [string, string][] = [];

    /** A DNS SRV name stands for every replica; a per-replica address (a kind NodePort, a load balancer) for one. */
    endpoint(programAddress: string, real: string[]): void {
        this.endpoints.set(programAddress, real);
    }

    /** What an address standing for several replicas stands for here; one the tier did not map is an error. */
    private replicasOf(programAddress: string, what: string): string[] {
        const real = this.endpoints.get(programAddress);
        if (real === undefined) {
            throw new Error(`${what} ${programAddress} is not mapped to a process of this tier`);
        }
        return real;
    }

    /** Maps a host (again: the last mapping of a host is the one that holds). */
    host(programAddress: string, real: string): void {
        const known = this.hosts.findIndex(([from]) => from === programAddress);
        if (known >= 0) {
            this.hosts.splice(known, 1);
        }
        this.hosts.push([programAddress, real]);
        this.hosts.sort(([a], [b]) => b.length - a.length);
    }

    /** A text (an objstore config, a URL, a flag) with every known host replaced. */
    text(content: string): string {
        return this.hosts.reduce((text, [from, to]) => text.split(from).join(to), content);
    }

    /**
     * Thanos Query's arguments with its endpoints mapped: every address of
     * `--endpoint.sd-config` (and of the older `--endpoint`) by what it
     * stands for; an address the tier did not map is an error.
     */
    querierArgs(args: string[]): string[] {
        const mapped = (address: string) => this.replicasOf(address, "the querier's endpoint");
        return args.flatMap((arg) => {
            const sdConfig = /^--endpoint\.sd-config=(.*)$/s.exec(arg);
            if (sdConfig !== null) {
                const config = JSON.parse(sdConfig[1]);
                config.endpoints = config.endpoints.flatMap((endpoint: { address: string }) =>
                    mapped(endpoint.address).map((address) => ({ ...endpoint, address })),
                );
                return [`--endpoint.sd-config=${JSON.stringify(config)}`];
            }
            const endpoint = /^--endpoint=(.*)$/.exec(arg);
            return endpoint === null ? [this.text(arg)] : mapped(endpoint[1]).map((address) => `--endpoint=${address}`);
        });
    }

    /**
     * A flag whose value names every replica at once (a DNS name of a headless
     * Service, such as the Ruler's `--alertmanagers.url=dns+http://…`) becomes
     * the same flag once per replica here; other args get their hosts mapped.
     */
    perReplica(args: string[], flag: string): string[] {
        return args.flatMap((arg) => {
            const value = arg.startsWith(`${flag}=`) ? arg.slice(flag.length + 1) : undefined;
            if (value === undefined) {
                return [this.text(arg)];
            }
            return this.replicasOf(value, flag).map((address) => `${flag}=${address}`);
        });
    }

    /**
     * The Query Frontend's arguments: the memcached addresses of its results
     * cache config (`--query-range.response-cache-config`, YAML) each by the
     * replicas it stands for, every other host mapped.
     */
    frontendArgs(args: string[]): string[] {
        return args.map((arg) => {
            const cacheConfig = /^--query-range\.response-cache-config=(.*)$/s.exec(arg);
            if (cacheConfig === null) {
                return this.text(arg);
            }
            const config = yaml.load(cacheConfig[1]) as { type: string; config: { addresses?: string[] } };
            if (config.config.addresses !== undefined) {
                config.config.addresses = config.config.addresses.flatMap((address) => this.replicasOf(address, "the frontend's cache address"));
            }
            return `--query-range.response-cache-config=${yaml.dump(config, { lineWidth: -1 })}`;
        });
    }
}

/**
 * What Kubernetes does to a container's args before it starts them: each
 * `$(NAME)` of a variable of its environment is replaced by its value, here
 * the variables of the pod's own fields (the downward API); `$$` escapes and
 * a reference to a variable it does not define stays as written
 * (third_party/forked/golang/expansion/expand.go of kubernetes/kubernetes).
 */
export function expandPodFields(args: string[], podFields: Record<string, string>, pod: { name: string; ip: string }): string[] {
    const fields: Record<string, string> = { "metadata.name": pod.name, "status.podIP": pod.ip };
    const values = Object.fromEntries(
        Object.entries(podFields).map(([name, fieldPath]) => {
            if (!(fieldPath in fields)) {
                throw new Error(`the pod field ${fieldPath} (of $${name}) has no stand-in in this tier`);
            }
            return [name, fields[fieldPath]];
        }),
    );
    return args.map((arg) =>
        arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (reference, name?: string) => {
            if (name === undefined) {
                return "$";
            }
            return name in values ? values[name] : reference;
        }),
    );
}

/**
 * Sets flags a process must listen or read on here (`--grpc-address`,
 * `--http-address`, `--prometheus.url`, …) to their local values; each must
 * already be among the args, so the program's own flag is what is changed.
 */
export function withLocal(args: string[], values: Record<string, string>): string[] {
    const changed = args.map((arg) => {
        const flag = /^(--?[^=]+)=/.exec(arg)?.[1];
        return flag !== undefined && flag in values ? `${flag}=${values[flag]}` : arg;
    });
    const missing = Object.keys(values).filter((flag) => !args.some((arg) => arg.startsWith(`${flag}=`)));
    if (missing.length > 0) {
        throw new Error(`the program no longer sets ${missing.join(", ")} (args: ${args.join(" ")})`);
    }
    return changed;
}

/**
 * A container's paths (mount points, the data directory) → folders of the
 * scratch space, wherever an arg names one as a value: after `=` or inside a
 * JSON string (the querier's endpoint config names its certificates).
 */
export function withPaths(args: string[], paths: Record<string, string>): string[] {
    const prefixes = Object.keys(paths).sort((a, b) => b.length - a.length);
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const pattern = new RegExp(`(^|[="])(${prefixes.map(escape).join("|")})(?=/|"|$)`, "g");
    return args.map((arg) => arg.replace(pattern, (_, before: string, prefix: string) => `${before}${paths[prefix]}`));
}
