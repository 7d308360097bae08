/**
 * Fingerprint: the default strategy on a 10 MB JSON input, and with 3 excluded paths, against
 * JSON.stringify + SHA-256 of the same input.
 */
import { createHash } from 'node:crypto';
import { CanonicalFingerprint } from '../../lib';
import { measurePair, type PairResult } from '../harness';

/** About 10 MB of JSON: orders with nested items, shuffled key order. */
export function bigInput(): unknown {
  const orders = [];
  for (let i = 0; orders.length < 26_000; i++) {
    orders.push({
      id: `order-${i}`,
      receivedAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
      customer: { name: `Customer ${i % 977}`, email: `c${i % 977}@example.com`, tier: i % 3 === 0 ? 'gold' : 'basic' },
      items: Array.from({ length: 4 }, (_, k) => ({ sku: `SKU-${(i * 7 + k) % 10_000}`, qty: (i + k) % 5, cents: ((i * 31 + k) % 50_000) / 100, ts: i * 10 + k })),
      note: i % 10 === 0 ? 'leave at the door \u2013 ring twice' : null,
      total: (i * 997) % 100_000,
    });
  }
  return { requestId: 'req-1', meta: { receivedAt: '2026-11-21T00:00:00Z', source: 'sqs' }, orders };
}

export async function fingerprint(): Promise<{ plain: PairResult; excluded: PairResult; bytes: number }> {
  const input = bigInput();
  const bytes = Buffer.byteLength(JSON.stringify(input));
  const baseline = async () => createHash('sha256').update(JSON.stringify(input)).digest('hex');
  const plain = await measurePair({ measured: async () => new CanonicalFingerprint().fingerprint(input), baseline, rounds: 7 });
  const strategy = new CanonicalFingerprint({ exclude: ['requestId', 'meta.receivedAt', 'orders[*].receivedAt'] });
  const excluded = await measurePair({ measured: async () => strategy.fingerprint(input), baseline, rounds: 7 });
  return { plain, excluded, bytes };
}
