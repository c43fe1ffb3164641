/**
 * How many CPUs this process may keep busy, for sizing its thread pools (fit threads, search trials, scoring helpers,
 * serving processes). os.availableParallelism() counts the CPUs the process may run on, but in a container with a CPU
 * limit (Kubernetes `resources.limits.cpu`, `docker run --cpus`) those are all of the host's: 64 threads under a
 * 2-CPU quota are throttled, and spinning ones most of all. So the count is capped by the CPU quota of the process's
 * control group (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us over cpu.cfs_period_us), rounded up.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

let cached: number | undefined;

/** availableParallelism(), capped by the cgroup CPU quota when there is one; at least 1. Read once per process. */
export function usableCpus(): number {
  cached ??= Math.max(1, Math.min(availableParallelism(), cgroupCpuQuota() ?? Infinity));
  return cached;
}

/** The CPU quota of this process's control group in whole CPUs (rounded up), or null when it has none. */
function cgroupCpuQuota(): number | null {
  const read = (path: string): string | null => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  };
  const own = ownCgroupPaths(read('/proc/self/cgroup') ?? '');
  for (const dir of [...own.v2.map((p) => `/sys/fs/cgroup${p}`), '/sys/fs/cgroup']) {
    const quota = quotaFromCpuMax(read(`${dir}/cpu.max`));
    if (quota !== null) return quota;
  }
  for (const dir of [...own.v1.map((p) => `/sys/fs/cgroup/cpu${p}`), '/sys/fs/cgroup/cpu']) {
    const quota = quotaFromCfs(read(`${dir}/cpu.cfs_quota_us`), read(`${dir}/cpu.cfs_period_us`));
    if (quota !== null) return quota;
  }
  return null;
}

/** The process's cgroup paths from /proc/self/cgroup: the v2 one ("0::/path") and the v1 cpu controller's. */
export function ownCgroupPaths(procSelfCgroup: string): { v2: string[]; v1: string[] } {
  const v2: string[] = [];
  const v1: string[] = [];
  for (const line of procSelfCgroup.split('\n')) {
    const [id, controllers, path] = line.split(':', 3);
    if (path === undefined || path === '/' || path === '') continue;
    if (id === '0' && controllers === '') v2.push(path);
    else if (controllers.split(',').includes('cpu')) v1.push(path);
  }
  return { v2, v1 };
}

/** cgroup v2 cpu.max ("QUOTA PERIOD", or "max PERIOD" for no limit) in whole CPUs, or null. */
export function quotaFromCpuMax(cpuMax: string | null): number | null {
  if (cpuMax === null) return null;
  const [quota, period] = cpuMax.trim().split(/\s+/);
  return quotaOf(Number(quota), Number(period ?? 100_000));
}

/** cgroup v1 cpu.cfs_quota_us (-1: no limit) over cpu.cfs_period_us, in whole CPUs, or null. */
export function quotaFromCfs(quota: string | null, period: string | null): number | null {
  if (quota === null || period === null) return null;
  return quotaOf(Number(quota.trim()), Number(period.trim()));
}

function quotaOf(quota: number, period: number): number | null {
  if (!Number.isFinite(quota) || quota <= 0 || !Number.isFinite(period) || period <= 0) return null;
  return Math.max(1, Math.ceil(quota / period));
}
