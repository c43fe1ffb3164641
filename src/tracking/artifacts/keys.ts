/**
 * The one rule set for artifact keys, shared by every repository: a key is a relative, '/'-separated path that can
 * never leave the repository root, whatever the storage (a folder, an S3 prefix) and whatever the platform.
 */
import { InvalidArtifactKeyError } from '../errors.js';

/** S3's limit; also keeps file paths well inside PATH_MAX. */
const MAX_KEY_BYTES = 1024;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const DRIVE_LETTER = /^[A-Za-z]:/;
// '.', '..', and the '...' / '.. ' forms Windows trims back to '..'.
const ONLY_DOTS_AND_SPACES = /^[. ]+$/;

/** Decodes %XX escapes of ASCII characters only: enough to reveal hidden '.', '/', '\' or control characters. */
function decodeAsciiEscapes(text: string): string {
  return text.replace(/%([0-7][0-9a-fA-F])/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function problemWith(text: string): string | undefined {
  if (text === '') return 'is empty';
  if (CONTROL.test(text)) return 'contains a control character';
  if (text.includes('\\')) return 'contains a backslash';
  if (text.startsWith('/')) return 'is absolute (starts with "/")';
  for (const segment of text.split('/')) {
    if (segment === '') return 'has an empty segment ("//" or a trailing "/")';
    if (ONLY_DOTS_AND_SPACES.test(segment)) return `has a "${segment}" segment`;
    if (DRIVE_LETTER.test(segment)) return 'has a drive letter';
  }
  return undefined;
}

/**
 * Returns the key unchanged when it is safe, else throws InvalidArtifactKeyError naming it. Percent-encoded forms are
 * decoded repeatedly and each form is checked too, so "%2e%2e/x" and "%252e%252e/x" fail like "../x", and an encoded
 * '/' or '\' (which could become a separator in some layer below) is refused outright.
 */
export function assertArtifactKey(key: string): string {
  if (typeof key !== 'string') throw new InvalidArtifactKeyError(String(key), 'is not a string');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new InvalidArtifactKeyError(key, `is longer than ${MAX_KEY_BYTES} bytes`);
  let form = key;
  for (;;) {
    const problem = problemWith(form);
    if (problem) throw new InvalidArtifactKeyError(key, form === key ? problem : `${problem} once percent-decoded`);
    const decoded = decodeAsciiEscapes(form);
    if (decoded === form) return key;
    if (count(decoded, '/') > count(form, '/') || count(decoded, '\\') > count(form, '\\')) {
      throw new InvalidArtifactKeyError(key, 'contains a percent-encoded "/" or "\\"');
    }
    form = decoded;
  }
}

/**
 * A listing prefix: '' (everything) or the start of a key, optionally ending in '/'. Held to the key rules so a
 * prefix cannot point outside the root either.
 */
export function assertArtifactPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  assertArtifactKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/** Joins segments into a key and checks the result. */
export function joinArtifactKey(...parts: string[]): string {
  return assertArtifactKey(parts.join('/'));
}

/** Byte order of the UTF-8 encoding: the order S3 lists keys in, used by every repository so listings agree. */
export function compareArtifactKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}
