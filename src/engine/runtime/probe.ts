/**
 * Which execution providers can run a graph on this machine, as the Models panel shows them (issue 22: it said
 * "available: cpu, webgpu" on a machine with no GPU, because it listed the build's backends). The probe itself is
 * providers.ts `probeProviders` (one-node graph per provider, shared with `doctor`); this keeps the bundled backends'
 * answer once per process (hardware does not change under a running app).
 */
import { probeProviders as probeEach, supportedBackends } from './providers.ts';

/** The providers that ran the probe graph, and why each other bundled one cannot run here. */
export interface ProviderAvailability {
  available: string[];
  unavailable: { name: string; reason: string }[];
}

let probed: Promise<ProviderAvailability> | null = null;

/** Probes the bundled backends once per process (see the module comment); later calls answer the same result. */
export function providerAvailability(): Promise<ProviderAvailability> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<ProviderAvailability> {
  const names = [
    'cpu',
    ...supportedBackends()
      .filter((b) => b.bundled && b.name !== 'cpu')
      .map((b) => b.name),
  ];
  const probes = await probeEach([...new Set(names)]);
  return {
    available: probes.filter((p) => p.runs).map((p) => p.provider),
    unavailable: probes
      .filter((p) => !p.runs)
      .map((p) => ({ name: p.provider, reason: p.reason ?? 'it did not run' })),
  };
}
