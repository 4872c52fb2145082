// The security contexts that make a pod meet the `restricted` Pod Security
// Standard, for the workloads this program builds itself.

/** The Thanos image runs as uid 1001 (Dockerfile.multi-arch: `USER 1001`); pods with it run as that user. */
export const thanosPodSecurityContext = { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, seccompProfile: { type: "RuntimeDefault" } };

/** Every container: no privilege escalation, no capabilities, nothing written outside its volumes. */
export const restrictedContainerSecurityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
