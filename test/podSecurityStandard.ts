// The `restricted` Pod Security Standard as the API server's admission checks
// it (kubernetes/pod-security-admission policy/check_*.go, "latest"): a pod
// spec in, every violation out. Used to judge what the stack starts.

const allowedVolumeKinds = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"];

export function restrictedViolations(spec: any): string[] {
    const violations: string[] = [];
    const pod = spec.securityContext ?? {};
    const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
    for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (spec[field]) violations.push(`${field} is true`);
    }
    for (const volume of spec.volumes ?? []) {
        const kind = Object.keys(volume).find((key) => key !== "name");
        if (kind === undefined || !allowedVolumeKinds.includes(kind)) violations.push(`volume ${volume.name} is a ${kind}`);
    }
    if (pod.runAsUser === 0) violations.push("pod runAsUser is 0");
    for (const container of containers) {
        const context = container.securityContext ?? {};
        const name = `container ${container.name}`;
        if (context.privileged) violations.push(`${name} is privileged`);
        if (context.allowPrivilegeEscalation !== false) violations.push(`${name} does not set allowPrivilegeEscalation: false`);
        if (!(context.capabilities?.drop ?? []).includes("ALL")) violations.push(`${name} does not drop ALL capabilities`);
        const added = (context.capabilities?.add ?? []).filter((capability: string) => capability !== "NET_BIND_SERVICE");
        if (added.length > 0) violations.push(`${name} adds ${added.join(", ")}`);
        if ((context.runAsNonRoot ?? pod.runAsNonRoot) !== true || context.runAsNonRoot === false)
            violations.push(`${name} may run as root (runAsNonRoot not true)`);
        if (context.runAsUser === 0) violations.push(`${name} runAsUser is 0`);
        const seccomp = context.seccompProfile?.type ?? pod.seccompProfile?.type;
        if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") violations.push(`${name} has no RuntimeDefault or Localhost seccomp profile`);
        for (const port of container.ports ?? []) {
            if (port.hostPort) violations.push(`${name} uses hostPort ${port.hostPort}`);
        }
    }
    return violations;
}

/** Requests for CPU and memory and a memory limit, on every container. */
export function unsizedContainers(spec: any): string[] {
    return [...(spec.initContainers ?? []), ...(spec.containers ?? [])]
        .filter((container) => !container.resources?.requests?.cpu || !container.resources?.requests?.memory || !container.resources?.limits?.memory)
        .map((container) => container.name);
}
