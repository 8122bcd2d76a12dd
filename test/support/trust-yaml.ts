// A TrustPolicy YAML for CLI tests: one commit signer (which commands other than reconcile never use) and the
// given lines of its spec (images, policy...), as a user writes the file.
export function trustPolicyYaml(specLines: readonly string[]): string {
  return [
    "apiVersion: gitward.dev/v1alpha1",
    "kind: TrustPolicy",
    "metadata: { name: prod }",
    "spec:",
    "  commits:",
    "    signers: [{ name: a, ssh: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a'], paths: ['**'] }]",
    ...specLines,
    "",
  ].join("\n");
}
