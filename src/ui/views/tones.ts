/** One colour scheme for every state word on the dashboard: badges, the task graph and event history agree. */

export type Tone = 'good' | 'bad' | 'warn' | 'active' | 'idle' | 'special';

export const TONES: Record<Tone, { fill: string; stroke: string; text: string }> = {
  good: { fill: '#dcfce7', stroke: '#16a34a', text: '#14532d' },
  bad: { fill: '#fee2e2', stroke: '#dc2626', text: '#7f1d1d' },
  warn: { fill: '#fef3c7', stroke: '#d97706', text: '#78350f' },
  active: { fill: '#dbeafe', stroke: '#2563eb', text: '#1e3a8a' },
  idle: { fill: '#f1f5f9', stroke: '#94a3b8', text: '#334155' },
  special: { fill: '#ede9fe', stroke: '#7c3aed', text: '#4c1d95' },
};

const BY_STATE: Record<string, Tone> = {
  success: 'good',
  finished: 'good',
  loaded: 'good',
  promote: 'good',
  production: 'good',
  failed: 'bad',
  refuse: 'bad',
  upstream_failed: 'warn',
  up_for_retry: 'warn',
  force_promote: 'warn',
  running: 'active',
  queued: 'idle',
  pending: 'idle',
  register: 'idle',
  rollback: 'special',
  delete: 'warn',
};

/** The tone of a state, status or event action (case-insensitive); unknown words are neutral. */
export function toneOf(state: string): Tone {
  return BY_STATE[state.toLowerCase()] ?? 'idle';
}
