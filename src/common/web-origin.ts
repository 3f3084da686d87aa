import { ValidateBy, ValidationOptions } from 'class-validator';

/** Hosts a browser only reaches on this machine: plain http is allowed for them (development, tests). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether `value` is exactly a web origin a waiting room may send people
 * back to: `https://host[:port]`, or `http://` to a loopback host, written the
 * way the URL standard serialises it (lower-case host, no default port, no
 * path, no trailing slash). Comparing a target URL's origin against such a
 * list is then a plain string comparison: no prefix or suffix match that
 * `https://shop.example.evil.test` could slip through.
 */
export function isExactOrigin(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 300) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.origin !== value) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
}

/** Each element is an exact origin (isExactOrigin). */
export function IsExactOrigin(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isExactOrigin',
      validator: {
        validate: (value: unknown) => isExactOrigin(value),
        defaultMessage: () =>
          'each of $property must be an origin only, https://host[:port] (or http://localhost[:port]), lower-case, without a path or trailing slash',
      },
    },
    { each: true, ...options },
  );
}
