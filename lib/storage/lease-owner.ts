/** Identity of this process as a lease owner. */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** `pid <pid> on <host>`: the default owner description written into leases. */
export function defaultLeaseOwner(): string {
  return `pid ${process.pid} on ${hostname()}`;
}

/** A fresh, unguessable lease token. */
export function newLeaseToken(): string {
  return randomUUID();
}
