#!/usr/bin/env node
// A Helm post-renderer (`helm --post-renderer`, the Release input `postrender`):
// reads the rendered manifests on stdin, writes them to stdout with every pod
// template brought up to the `restricted` Pod Security Standard. The
// banzaicloud thanos chart templates no container-level securityContext, and
// `allowPrivilegeEscalation` and `capabilities` exist only there.
// Plain JavaScript with one dependency of the project, so Helm can run it
// without a TypeScript toolchain.
"use strict";
const yaml = require("js-yaml");

/** Where each workload kind keeps its pod spec. */
const podSpecPaths = {
    Pod: ["spec"],
    Deployment: ["spec", "template", "spec"],
    StatefulSet: ["spec", "template", "spec"],
    DaemonSet: ["spec", "template", "spec"],
    ReplicaSet: ["spec", "template", "spec"],
    Job: ["spec", "template", "spec"],
    CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};

function restrictContainer(container) {
    const context = container.securityContext || {};
    const added = ((context.capabilities || {}).add || []).filter((capability) => capability === "NET_BIND_SERVICE");
    container.securityContext = {
        ...context,
        allowPrivilegeEscalation: false,
        capabilities: { ...(added.length > 0 ? { add: added } : {}), drop: ["ALL"] },
    };
}

function restrictPod(spec) {
    spec.securityContext = {
        ...(spec.securityContext || {}),
        runAsNonRoot: true,
        seccompProfile: (spec.securityContext || {}).seccompProfile || { type: "RuntimeDefault" },
    };
    for (const container of [...(spec.initContainers || []), ...(spec.containers || [])]) {
        restrictContainer(container);
    }
}

function restrict(document) {
    const path = document && podSpecPaths[document.kind];
    const spec = path && path.reduce((node, key) => (node ? node[key] : undefined), document);
    if (spec) {
        restrictPod(spec);
    }
    return document;
}

function postRender(manifests) {
    return yaml
        .loadAll(manifests)
        .filter((document) => document !== null && document !== undefined)
        .map((document) => yaml.dump(restrict(document), { lineWidth: -1, noRefs: true }))
        .join("---\n");
}

module.exports = { postRender };

if (require.main === module) {
    let input = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => (input += chunk));
    process.stdin.on("end", () => {
        try {
            process.stdout.write(postRender(input));
        } catch (error) {
            process.stderr.write(`restrictedPodSecurity: ${error.message}\n`);
            process.exitCode = 1;
        }
    });
}
