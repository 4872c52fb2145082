// Flags Thanos accepts, per release and component, as read from its source
// (cmd/thanos/*.go at v0.37.0, v0.41.0 and v0.42.4): what the tests judge
// every rendered container against. Thanos exits at start on an unknown flag,
// and on a repeated one unless it may repeat (true here).

/** What Thanos would refuse: unknown flags, and flags given twice that may not repeat. */
export function refused(args: string[], accepted: Record<string, boolean>): string[] {
    const names = args.map((arg) => /^--(?:no-)?([^=\s]+)/.exec(arg)?.[1] ?? arg);
    return names.flatMap((name, i) => {
        if (!(name in accepted)) {
            return [`unknown flag --${name}`];
        }
        return !accepted[name] && names.indexOf(name) !== i ? [`repeated flag --${name}`] : [];
    });
}

export const supportedReleases = ["v0.37.0", "v0.41.0", "v0.42.4"] as const;
export type SupportedRelease = (typeof supportedReleases)[number];

/** Global flags of every command (cmd/thanos/main.go:47-50 at v0.37.0 and v0.41.0, 46-49 at v0.42.4). */
const global = { "log.level": false, "log.format": false };

/** The objstore flags every bucket user registers (pkg/extkingpin/flags.go:94 at v0.37.0, 86 at v0.41.0 and v0.42.4). */
const objstore = { "objstore.config": false, "objstore.config-file": false };

/** The gRPC server flags (cmd/thanos/config.go:37-48 at v0.37.0, 43-54 at v0.41.0, 46-57 at v0.42.4). */
const grpcServer = { "grpc-address": false, "grpc-server-tls-cert": false, "grpc-server-tls-key": false, "grpc-server-tls-client-ca": false };

/**
 * `thanos store` (cmd/thanos/store.go, storeConfig.registerFlag at :108, :112,
 * :112): the flags a Store Gateway here may get, the same at every supported
 * release (data-dir :113/:117/:117, index-cache-size :119/:123/:123,
 * chunk-pool-size :132/:136/:136, sync-block-duration :148/:152/:153,
 * block-sync-concurrency :155/:159/:160; --http-address in config.go).
 */
const store = {
    ...global,
    ...objstore,
    ...grpcServer,
    "http-address": false,
    "data-dir": false,
    "index-cache-size": false,
    "chunk-pool-size": false,
    "sync-block-duration": false,
    "block-sync-concurrency": false,
    "ignore-deletion-marks-delay": false,
    "store.grpc.series-max-concurrency": false,
};

/**
 * `thanos compact` (cmd/thanos/compact.go, compactConfig.registerFlag at :752,
 * :747, :742): data-dir :763/:758/:753, retention.resolution-* :771-777 /
 * :766-772 / :761-767, wait :780/:775/:770, wait-interval :782/:777/:772,
 * downsampling.disable :785/:780/:775, compact.concurrency :805/:800/:795,
 * delete-delay :812/:807/:802, consistency-delay (one each). No
 * block-sync-concurrency: removed in v0.27.0 (#5426, CHANGELOG at v0.42.4:858).
 */
const compact = {
    ...global,
    ...objstore,
    "http-address": false,
    "data-dir": false,
    wait: false,
    "wait-interval": false,
    "retention.resolution-raw": false,
    "retention.resolution-5m": false,
    "retention.resolution-1h": false,
    "downsampling.disable": false,
    "compact.concurrency": false,
    "downsample.concurrency": false,
    "delete-delay": false,
    "consistency-delay": false,
    "block-meta-fetch-concurrency": false,
    "deduplication.replica-label": true,
};

/**
 * `thanos tools bucket ls` (cmd/thanos/tools_bucket.go): the objstore flags
 * of `tools bucket` (:297 at v0.37.0, :314 at v0.41.0, :315 at v0.42.4) and
 * ls's own (output :183/:193/:194, exclude-delete, selector, sort-by, timeout;
 * min-time and max-time from v0.42: :198-200).
 */
const bucketLs = { ...global, ...objstore, output: false, "exclude-delete": false, selector: true, "sort-by": true, timeout: false };

/**
 * `thanos rule` (cmd/thanos/rule.go at v0.37.0 / v0.41.0 / v0.42.4): label
 * :138/:144/:145 (repeated), data-dir :147/:153/:154, rule-file :148/:154/:155
 * (repeated), eval-interval :152/:158/:159; the query and alerting flags its
 * config registers (rule.go :125-126/:131-132/:132-133) are in config.go:
 * query :223/:269/:279 (repeated), alertmanagers.url :256/:302/:312 (repeated),
 * alert.label-drop :263/:309/:319 (repeated); the gRPC and HTTP servers' as
 * for every component.
 */
const rule = {
    ...global,
    ...grpcServer,
    "http-address": false,
    "data-dir": false,
    "rule-file": true,
    "eval-interval": false,
    label: true,
    query: true,
    "alertmanagers.url": true,
    "alert.label-drop": true,
};

export const thanosFlags: Record<
    SupportedRelease,
    { store: Record<string, boolean>; compact: Record<string, boolean>; bucketLs: Record<string, boolean>; rule: Record<string, boolean> }
> = {
    "v0.37.0": { store, compact, bucketLs, rule },
    "v0.41.0": { store, compact, bucketLs, rule },
    "v0.42.4": { store, compact, bucketLs: { ...bucketLs, "min-time": false, "max-time": false }, rule },
};
