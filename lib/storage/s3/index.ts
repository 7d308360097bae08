/**
 * `waymark/s3`: S3 storage. Import it only where you use it: `@aws-sdk/client-s3` is a peer dependency
 * that users of memory or file storage never load.
 */
import { assertSupportedNode } from '../../node-version';

// Loading waymark on a Node.js it does not support fails here, saying which it needs.
assertSupportedNode();

export { S3Storage, type S3StorageOptions } from './s3-storage';
export type { S3RetryOptions } from './s3-retry';
