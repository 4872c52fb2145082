// What the Pulumi CLI hands a program from a stack file's `config:`, read from
// pulumi v3.259.0, so tests can feed the real program exactly that:
// - a key with no value becomes "" (sdk/go/common/workspace/loaders.go:379-410);
// - a top-level scalar becomes its text, a list or object its JSON, nulls
//   inside kept (sdk/go/common/resource/config/object.go:404-417, plaintext.go:263);
// - `secure:` values are decrypted in place, and the whole top-level key is
//   reported secret (object.go:50-72, map.go:105-113).

export interface HandedConfig {
    config: Record<string, unknown>;
    secretKeys: string[];
}

export function whatPulumiHandsTheProgram(fileConfig: Record<string, unknown>, decrypt: (ciphertext: string) => string): HandedConfig {
    const secretKeys: string[] = [];
    const config = Object.fromEntries(
        Object.entries(fileConfig).map(([key, value]) => {
            let secret = false;
            const decrypted = (inner: unknown): unknown => {
                if (
                    typeof inner === "object" &&
                    inner !== null &&
                    !Array.isArray(inner) &&
                    Object.keys(inner).length === 1 &&
                    typeof (inner as { secure?: unknown }).secure === "string"
                ) {
                    secret = true;
                    return decrypt((inner as { secure: string }).secure);
                }
                if (Array.isArray(inner)) {
                    return inner.map(decrypted);
                }
                return typeof inner === "object" && inner !== null ? Object.fromEntries(Object.entries(inner).map(([k, v]) => [k, decrypted(v)])) : inner;
            };
            const handed = value === null ? "" : typeof value === "object" ? decrypted(value) : String(value);
            if (secret) {
                secretKeys.push(key);
            }
            return [key, handed];
        }),
    );
    return { config, secretKeys };
}
