// Kubernetes resource quantities, read as the API server reads the ones this
// program writes: the settings check them, the sizes are computed from them.

const units: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, m: 1e-3 };

/** A Kubernetes quantity in its base unit (bytes for memory, cores for CPU). */
export function parseQuantity(quantity: string): number {
    const match = /^(\d+(?:\.\d*)?|\.\d+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(quantity);
    if (!match) {
        throw new Error(`not a Kubernetes quantity: ${quantity}`);
    }
    return Number(match[1]) * units[match[2] ?? ""];
}
