import { expect } from 'chai';
import { isConditionFailed, isNotFound, isTransient } from '../../../lib/storage/s3/s3-faults';

/** An error shaped like the SDK's: a name, maybe a code, and the HTTP status in $metadata. */
function s3Error(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: status === undefined ? {} : { httpStatusCode: status } }, extra);
}

describe('S3 faults', () => {
  it('isNotFound: a 404 by status or by name (GET says NoSuchKey, HEAD says NotFound)', () => {
    expect(isNotFound(s3Error('Whatever', 404))).to.equal(true);
    expect(isNotFound(s3Error('NoSuchKey'))).to.equal(true);
    expect(isNotFound(s3Error('NotFound'))).to.equal(true);
    for (const other of [s3Error('NoSuchBucket', 403), s3Error('AccessDenied', 403), s3Error('PreconditionFailed', 412), new Error('x'), undefined, null, 'NoSuchKey']) {
      expect(isNotFound(other), String((other as Error)?.name ?? other)).to.equal(false);
    }
  });

  it('isConditionFailed: 412, or 409 from a concurrent conditional write, by status or by name', () => {
    expect(isConditionFailed(s3Error('Whatever', 412))).to.equal(true);
    expect(isConditionFailed(s3Error('PreconditionFailed'))).to.equal(true);
    expect(isConditionFailed(s3Error('ConditionalRequestConflict'))).to.equal(true);
    expect(isConditionFailed(s3Error('OperationAborted', 409))).to.equal(true);
    expect(isConditionFailed(s3Error('BucketAlreadyExists', 409))).to.equal(false);
    for (const other of [s3Error('NoSuchKey', 404), s3Error('InternalError', 500), s3Error('Conflict'), new Error('412'), undefined, null]) {
      expect(isConditionFailed(other), String((other as Error)?.name ?? other)).to.equal(false);
    }
  });

  describe('isTransient', () => {
    it('5xx and 429 by status, whatever the name', () => {
      for (const status of [500, 502, 503, 504, 599, 429]) expect(isTransient(s3Error('Odd', status)), String(status)).to.equal(true);
      for (const status of [400, 403, 404, 409, 412, 428, 430, 499]) expect(isTransient(s3Error('Odd', status)), String(status)).to.equal(false);
    });

    it('throttling and timeouts by name', () => {
      for (const name of ['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeoutException', 'Throttling', 'ThrottlingException', 'TimeoutError', 'RequestTimeTooSkewed']) {
        // A neutral message: the name alone must say it (a message saying "timeout" would too).
        expect(isTransient(Object.assign(s3Error(name), { message: 'the request failed' })), name).to.equal(true);
      }
      for (const name of ['AccessDenied', 'NoSuchKey', 'PreconditionFailed', 'InvalidRequest']) expect(isTransient(s3Error(name)), name).to.equal(false);
    });

    it('dropped connections by Node error code', () => {
      for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']) {
        expect(isTransient(Object.assign(new Error('network'), { code })), code).to.equal(true);
      }
      for (const code of ['ENOENT', 'EACCES', 'ERR_INVALID_ARG_TYPE']) expect(isTransient(Object.assign(new Error('local'), { code })), code).to.equal(false);
    });

    it('and by message, for faults that carry nothing else', () => {
      for (const message of ['socket hang up', 'read ECONNRESET', 'write EPIPE', 'Connection timed out', 'request timeout after 5s', 'TIMED OUT']) {
        expect(isTransient(new Error(message)), message).to.equal(true);
      }
      for (const message of ['access denied', 'bad digest', 'time is up', '']) expect(isTransient(new Error(message)), message).to.equal(false);
      for (const other of [undefined, null, 'socket hang up', { message: 7 }]) expect(isTransient(other), String(other)).to.equal(false);
    });
  });
});
