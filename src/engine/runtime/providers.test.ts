import { describe, expect, it } from 'vitest';
import {
  defaultProviders,
  failureReason,
  probeProviders,
  requestedProviders,
  sessionOptions,
} from './providers.ts';

describe('provider order', () => {
  it('requests the platform GPU provider first, then CPU', () => {
    expect(defaultProviders('linux', 'x64')).toEqual(['cuda', 'cpu']);
    expect(defaultProviders('win32', 'x64')).toEqual(['dml', 'cpu']);
    expect(defaultProviders('win32', 'arm64')).toEqual(['dml', 'cpu']);
    expect(defaultProviders('darwin', 'arm64')).toEqual(['coreml', 'cpu']);
  });

  it('requests CPU alone where onnxruntime-node ships no GPU provider', () => {
    expect(defaultProviders('linux', 'arm64')).toEqual(['cpu']);
    expect(defaultProviders('freebsd', 'x64')).toEqual(['cpu']);
  });

  it('forces CPU when the setting says so, whatever else was asked', () => {
    expect(requestedProviders({ forceCpu: true, providers: ['cuda'] }, 'linux', 'x64')).toEqual(['cpu']);
  });

  it('appends CPU to an explicit list and drops duplicates', () => {
    expect(requestedProviders({ providers: ['cuda', 'cuda'] }, 'linux', 'x64')).toEqual(['cuda', 'cpu']);
    expect(requestedProviders({ providers: ['cpu', 'cuda'] }, 'linux', 'x64')).toEqual(['cpu', 'cuda']);
    expect(requestedProviders({}, 'darwin', 'arm64')).toEqual(['coreml', 'cpu']);
  });
});

describe('session options', () => {
  it('sets threads, optimization, sequential execution and no spinning on purpose', () => {
    const options = sessionOptions('cpu', { intraOpThreads: 2 });
    expect(options).toMatchObject({
      executionProviders: ['cpu'],
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  });
});

describe('failure reasons', () => {
  it('keeps only the first line of the provider error', () => {
    expect(failureReason('dml', new Error('DirectML device lost\nstack…'))).toBe(
      'dml failed to load (DirectML device lost)',
    );
  });
});

describe('probing providers by running a graph on each', () => {
  it('runs the probe on CPU and says why a provider that cannot run does not', async () => {
    const probes = await probeProviders(['cpu', 'dml', 'cuda']);
    expect(probes.map((p) => p.provider)).toEqual(['cpu', 'dml', 'cuda']);
    const [cpu, dml, cuda] = probes;
    expect(cpu).toMatchObject({ provider: 'cpu', runs: true, engine: true });
    expect(cpu!.reason).toBeUndefined();
    // DirectML is Windows-only: onnxruntime-node has no such backend on this machine
    if (process.platform !== 'win32') {
      expect(dml).toMatchObject({ runs: false, engine: true });
      expect(dml!.reason).toContain('dml');
    }
    // CUDA runs only with its provider libraries and a GPU; without them the probe names what is missing
    if (!cuda!.runs) expect(cuda!.reason!.length).toBeGreaterThan(0);
  });
});
