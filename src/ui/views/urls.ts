/** Links between dashboard pages, under whatever prefix the host app mounted the plugin at. */

export type Query = Record<string, string | number | undefined | null>;

function href(base: string, root: 'ui' | 'api', segments: readonly (string | number)[], query: Query): string {
  const path = `${base}/${root}${segments.map((s) => `/${encodeURIComponent(String(s))}`).join('')}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** uiHref('/x', ['runs', id], { metric: 'a' }) -> '/x/ui/runs/<id encoded>?metric=a'; empty query values are left out. */
export function uiHref(base: string, segments: readonly (string | number)[] = [], query: Query = {}): string {
  return href(base, 'ui', segments, query);
}

/** The JSON behind a page, linked from it. */
export function apiHref(base: string, segments: readonly (string | number)[] = [], query: Query = {}): string {
  return href(base, 'api', segments, query);
}
