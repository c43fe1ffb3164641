import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ownCgroupPaths, quotaFromCfs, quotaFromCpuMax, usableCpus } from '../src/cpus.js';

describe('usable CPUs', () => {
  it('reads a container CPU limit from cgroup v2 cpu.max, rounded up to whole CPUs', () => {
    expect(quotaFromCpuMax('200000 100000\n')).toBe(2);
    expect(quotaFromCpuMax('150000 100000')).toBe(2);
    expect(quotaFromCpuMax('50000 100000')).toBe(1);
    expect(quotaFromCpuMax('max 100000')).toBeNull();
    expect(quotaFromCpuMax(null)).toBeNull();
  });

  it('reads it from cgroup v1 cfs quota and period (-1: no limit)', () => {
    expect(quotaFromCfs('400000\n', '100000\n')).toBe(4);
    expect(quotaFromCfs('-1', '100000')).toBeNull();
    expect(quotaFromCfs(null, '100000')).toBeNull();
  });

  it("finds the process's own cgroup paths", () => {
    expect(ownCgroupPaths('0::/kubepods/pod1/c1\n')).toEqual({ v2: ['/kubepods/pod1/c1'], v1: [] });
    expect(ownCgroupPaths('4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n0::/\n')).toEqual({ v2: [], v1: ['/docker/abc'] });
  });

  it('counts at least one and at most the available CPUs', () => {
    const n = usableCpus();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(availableParallelism());
  });
});
