import { describe, expect, it } from 'vitest';
import { providerAvailability as probeProviders } from './probe.ts';
import { supportedBackends } from './providers.ts';

describe('probeProviders', () => {
  it('lists CPU and only the bundled providers that ran the probe graph, naming why the others cannot', async () => {
    const probe = await probeProviders();
    expect(probe.available[0]).toBe('cpu');
    const bundled = supportedBackends()
      .filter((b) => b.bundled)
      .map((b) => b.name);
    // every bundled backend is answered exactly once: available or unavailable with a reason
    const answered = [...probe.available, ...probe.unavailable.map((u) => u.name)].sort();
    expect(answered).toEqual([...new Set(['cpu', ...bundled])].sort());
    for (const { reason } of probe.unavailable) expect(reason.length).toBeGreaterThan(0);
    // probed once per process
    expect(await probeProviders()).toBe(probe);
  });

  it('does not call a GPU provider available on a machine without a GPU device', async () => {
    const probe = await probeProviders();
    // Linux without /dev/dri and without NVIDIA's device nodes has no adapter for webgpu or cuda to run on
    const { existsSync } = await import('node:fs');
    const gpu = existsSync('/dev/dri') || existsSync('/dev/nvidia0');
    if (!gpu) expect(probe.available).toEqual(['cpu']);
    else expect(probe.available).toContain('cpu');
  });
});
