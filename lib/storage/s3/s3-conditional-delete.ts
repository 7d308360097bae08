/**
 * Whether an S3 server honours `If-Match` on DELETE. AWS S3 does; some S3-compatible servers (Ceph
 * 16's gateway among them) ignore the header and delete whatever is there, which would let a former
 * lease holder's release delete its successor's lease. Asked once per store by a probe: an object
 * of its own, a DELETE with an ETag it cannot have, and a look at whether the object survived; the
 * object is deleted after.
 */
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isConditionFailed, isNotFound } from './s3-faults';
import { withRetries, type S3RetryOptions } from './s3-retry';

/** An ETag no object has. */
const NO_SUCH_ETAG = '"00000000000000000000000000000000"';

/** The probe's object, under the store's prefix: one key, so a probe killed midway leaves at most this one object, which the next probe removes. */
export const PROBE_KEY = 'conditional-delete';

/**
 * True when the server refused a DELETE whose `If-Match` failed; false when it deleted anyway (or
 * when probes of several processes crossed: false is the safe answer). `where` is a key prefix of
 * the store's own.
 */
export async function honoursConditionalDelete(client: S3Client, bucket: string, where: string, retry: S3RetryOptions): Promise<boolean> {
  const key = `${where}${PROBE_KEY}`;
  // A body of its own: an empty one is sent without a length, and the SDK warns about it on the console.
  await withRetries(retry, () => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'probe' })));
  let refused = false;
  try {
    await withRetries(retry, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, IfMatch: NO_SUCH_ETAG })));
  } catch (error) {
    // A server that refuses the header outright (501) cannot be trusted with it either.
    if (!isConditionFailed(error)) return cleanUp(false);
    refused = true;
  }
  if (!refused) {
    // No error: either deleted anyway, or a server that answers 204 but keeps the object.
    const kept = await withRetries(retry, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).then(
      () => true,
      (error: unknown) => {
        if (isNotFound(error)) return false;
        throw error;
      },
    );
    return cleanUp(kept);
  }
  return cleanUp(true);

  async function cleanUp(answer: boolean): Promise<boolean> {
    await withRetries(retry, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))).catch(() => undefined);
    return answer;
  }
}
