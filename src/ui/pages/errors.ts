/** The page shown for a missing pipeline run, run, experiment or model, and for a failure while building a page. */
import { html } from '../html.js';
import { card } from '../views/components.js';
import { page, type Section } from '../views/layout.js';

export function errorPage(base: string, section: Section, title: string, message: string): string {
  return page({ base, section, title, body: card('What happened', html`<p>${message}</p>`) });
}
