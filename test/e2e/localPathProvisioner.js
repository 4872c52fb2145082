#!/usr/bin/env node
// kind's volume provisioner in the kind stand-in. kind v0.32.0 installs
// rancher/local-path-provisioner behind its default StorageClass `standard`
// (WaitForFirstConsumer); kwok runs no pod, so this plays the provisioner's
// part as the API server sees it, through the same library contract
// (sigs.k8s.io/sig-storage-lib-external-provisioner, controller.go): a claim
// of the class, once the scheduler has picked its node
// (`volume.kubernetes.io/selected-node`), gets a hostPath volume of the
// requested size pinned to that node and bound to the claim; a volume it
// provisioned that is Released with reclaim policy Delete is deleted. Without
// it a Prometheus with a volume claim template would stay Pending forever,
// and its volumes would outlive `destroy` where the real one removes them.
//
// Usage: localPathProvisioner.js <kubectl> <kubeconfig>
"use strict";
const { spawnSync } = require("child_process");

const [kubectlBinary, kubeconfig] = process.argv.slice(2);
const provisioner = "rancher.io/local-path";
const storageClass = "standard";

function kubectl(args, input) {
    const result = spawnSync(kubectlBinary, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", input });
    if (result.status !== 0) {
        process.stderr.write(`kubectl ${args.join(" ")}: ${result.stderr}`);
    }
    return result.status === 0 ? result.stdout : undefined;
}

function provision() {
    const claims = kubectl(["get", "persistentvolumeclaims", "--all-namespaces", "-o", "json"]);
    for (const claim of claims === undefined ? [] : JSON.parse(claims).items) {
        const node = claim.metadata.annotations?.["volume.kubernetes.io/selected-node"];
        if (claim.status.phase !== "Pending" || claim.spec.storageClassName !== storageClass || node === undefined || claim.spec.volumeName) {
            continue;
        }
        const { namespace, name, uid } = claim.metadata;
        const volume = {
            apiVersion: "v1",
            kind: "PersistentVolume",
            metadata: { name: `pvc-${uid}`, annotations: { "pv.kubernetes.io/provisioned-by": provisioner, "local.path.provisioner/selected-node": node } },
            spec: {
                capacity: { storage: claim.spec.resources.requests.storage },
                accessModes: claim.spec.accessModes,
                persistentVolumeReclaimPolicy: "Delete",
                storageClassName: storageClass,
                volumeMode: claim.spec.volumeMode ?? "Filesystem",
                claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid },
                // local-path-provisioner's folder for the claim (provisioner.go: pvc-<uid>_<namespace>_<name>).
                hostPath: { path: `/opt/local-path-provisioner/pvc-${uid}_${namespace}_${name}`, type: "DirectoryOrCreate" },
                nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }] } },
            },
        };
        kubectl(["create", "-f", "-"], JSON.stringify(volume));
    }
    const volumes = kubectl(["get", "persistentvolumes", "-o", "json"]);
    for (const volume of volumes === undefined ? [] : JSON.parse(volumes).items) {
        if (
            volume.metadata.annotations?.["pv.kubernetes.io/provisioned-by"] === provisioner &&
            volume.status.phase === "Released" &&
            volume.spec.persistentVolumeReclaimPolicy === "Delete" &&
            volume.metadata.deletionTimestamp === undefined
        ) {
            kubectl(["delete", "persistentvolume", volume.metadata.name, "--wait=false"]);
        }
    }
}

provision();
setInterval(provision, 2000);
