/**
 * The Node.js versions waymark runs on: what `engines` in package.json claims (a spec keeps the two
 * the same). Loading waymark on another version fails at once with a clear message, rather than
 * later in a way nobody can explain.
 */
import { UnsupportedNodeError } from './errors';

/** The supported versions, as a semver range (the same text as `engines.node`). */
export const SUPPORTED_NODE = '^22.13.0 || >=24';

/** True when Node.js `version` (e.g. `'24.11.0'`) is one waymark supports. */
export function isSupportedNode(version: string): boolean {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return (major === 22 && minor >= 13) || major >= 24;
}

/** Throws `UnsupportedNodeError` unless `version` (default this process's) is supported. */
export function assertSupportedNode(version: string = process.versions.node): void {
  if (!isSupportedNode(version)) throw new UnsupportedNodeError(version, SUPPORTED_NODE);
}
