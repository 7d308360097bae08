/**
 * How S3 answered, in the terms waymark cares about: not found, a failed precondition, or a transient
 * fault worth retrying.
 */

interface S3ErrorLike {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function status(error: unknown): number | undefined {
  return (error as S3ErrorLike | undefined)?.$metadata?.httpStatusCode;
}

/** 404: NoSuchKey (GET), NotFound (HEAD). */
export function isNotFound(error: unknown): boolean {
  const e = error as S3ErrorLike | undefined;
  return status(error) === 404 || e?.name === 'NoSuchKey' || e?.name === 'NotFound';
}

/** 412 Precondition Failed, or 409 ConditionalRequestConflict (a concurrent conditional write won). */
export function isConditionFailed(error: unknown): boolean {
  const e = error as S3ErrorLike | undefined;
  return status(error) === 412 || e?.name === 'PreconditionFailed' || e?.name === 'ConditionalRequestConflict' || (status(error) === 409 && e?.name !== 'BucketAlreadyExists');
}

const TRANSIENT_NAMES = new Set(['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeoutException', 'Throttling', 'ThrottlingException', 'TimeoutError', 'RequestTimeTooSkewed']);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/** 5xx, 429, throttling, timeouts and dropped connections: worth another try. */
export function isTransient(error: unknown): boolean {
  const e = error as S3ErrorLike | undefined;
  const code = status(error);
  if (code !== undefined && (code >= 500 || code === 429)) return true;
  if (e?.name !== undefined && TRANSIENT_NAMES.has(e.name)) return true;
  if (e?.code !== undefined && TRANSIENT_CODES.has(e.code)) return true;
  return typeof e?.message === 'string' && /socket hang up|ECONNRESET|EPIPE|timed? ?out/i.test(e.message);
}
