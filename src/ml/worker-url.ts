/**
 * Where a worker thread's script is. Workers run compiled JavaScript: next to the calling module in dist/, or, when
 * the caller runs from its TypeScript source (tests), the file `npm run build` wrote to dist/ for it.
 */
export function compiledWorkerUrl(moduleUrl: string, script: string): { url: URL; fromSources: boolean } {
  if (!moduleUrl.endsWith('.ts')) return { url: new URL(script, moduleUrl), fromSources: false };
  const i = moduleUrl.lastIndexOf('/src/');
  const compiled = i < 0 ? moduleUrl : `${moduleUrl.slice(0, i)}/dist/${moduleUrl.slice(i + 5)}`;
  return { url: new URL(script, compiled), fromSources: true };
}
