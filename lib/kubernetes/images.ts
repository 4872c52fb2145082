// Every image reference the stack pulls is built here, from the image in
// lib/versions.ts and the stack's `images.registry`: a mirror prefix takes the
// place of the image's own registry, its repository and tag unchanged
// (quay.io/thanos/thanos:v0.42.4 → registry.example.com/mirror/thanos/thanos:v0.42.4),
// the same rule the charts apply to `global.imageRegistry`.
import { StackConfig, frontendCache } from "../config/schema";
import { Image, alertmanagerImage, grafanaChart, kubePrometheusStackImages, memcachedImage, seaweedfsImage, thanosImage } from "../versions";

/** `registry/repository`, from the mirror when there is one: for charts that take the image's name and tag apart. */
export function repositoryReference(image: Omit<Image, "tag">, mirror: string | undefined): string {
    return `${mirror ?? image.registry}/${image.repository}`;
}

/** `registry/repository:tag`, from the mirror when there is one. */
export function imageReference(image: Image, mirror: string | undefined): string {
    return `${repositoryReference(image, mirror)}:${image.tag}`;
}

/** An image in the fields the charts' values take (grafana 12.11.1 values.yaml:108-116). */
export function chartImage(image: Image, mirror: string | undefined): Image {
    return { ...image, registry: mirror ?? image.registry };
}

/** The stack's Thanos, for sidecars, Query, Query Frontend, Store Gateway, compactor and the Jobs. */
export function thanosImageReference(thanosVersion: string, mirror: string | undefined): string {
    return imageReference({ ...thanosImage, tag: thanosVersion }, mirror);
}

/**
 * Helm values that send every image a chart renders to the mirror: each image
 * template of kube-prometheus-stack 88.5.3 (templates/prometheus-operator/deployment.yaml:50-52, 91, 94,
 * prometheus/prometheus.yaml:53, alertmanager/alertmanager.yaml:19, admission-webhooks/job-patch/*.yaml),
 * of its subcharts (kube-state-metrics 8.4.0 _helpers.tpl:144-196, prometheus-node-exporter
 * 4.56.1 _helpers.tpl:81-88 and daemonset.yaml:52-54, 267-269) and of grafana 12.11.1
 * (_pod.tpl:42, 71, 120, …) writes `global.imageRegistry | default <its registry>`, and a
 * parent's `global` reaches every subchart.
 */
export function chartImageRegistry(mirror: string | undefined): Record<string, unknown> {
    return mirror === undefined ? {} : { global: { imageRegistry: mirror } };
}

/** The settings the image list depends on. */
type ImageSettings = Pick<StackConfig, "regions" | "grafana" | "storage" | "images" | "versions" | "alerting" | "globalQuery">;

/**
 * Every image the stack's pods run, once each, for `npm run images`: what a
 * mirror must hold (the e2e charts tier checks the list against the rendered charts).
 */
export function stackImages(config: ImageSettings): string[] {
    const mirror = config.images.registry;
    const components = config.regions.map((region) => region.components);
    const kubePrometheusStack: Image[] = [
        ...kubePrometheusStackImages.always,
        ...(components.some((each) => each.alertmanager) ? kubePrometheusStackImages.alertmanager : []),
        ...(components.some((each) => each.kubeStateMetrics) ? kubePrometheusStackImages.kubeStateMetrics : []),
        ...(components.some((each) => each.nodeExporter) ? kubePrometheusStackImages.nodeExporter : []),
        ...(components.some((each) => each.grafana) ? kubePrometheusStackImages.grafana : []),
    ];
    const references = [
        thanosImageReference(config.versions.thanos, mirror),
        ...kubePrometheusStack.map((image) => imageReference(image, mirror)),
        ...(config.grafana.enabled ? [imageReference(grafanaChart.image, mirror)] : []),
        ...(config.storage.type === "inCluster" ? [imageReference(seaweedfsImage, mirror)] : []),
        ...(config.alerting.enabled && config.alerting.receiver.type !== "alertmanager" ? [imageReference(alertmanagerImage, mirror)] : []),
        ...(frontendCache(config.globalQuery) === "memcached" ? [imageReference(memcachedImage, mirror)] : []),
    ];
    return [...new Set(references)];
}

/** The kind node images the stack's kind clusters boot: Docker pulls them on this machine, never the cluster. */
export function kindNodeImages(config: Pick<StackConfig, "clusters">): string[] {
    return [...new Set(config.clusters.flatMap((cluster) => (cluster.type === "kind" ? [cluster.nodeImage] : [])))];
}
