import { assertSupportedNode } from '../node-version';

// Loading waymark on a Node.js it does not support fails here, saying which it needs.
assertSupportedNode();

export {
  WaymarkModule,
  WaymarkWorkerLifecycle,
  WAYMARK_MODULE_OPTIONS,
  type WaymarkModuleOptions,
  type WaymarkModuleAsyncOptions,
  type WaymarkWorkerOptions,
  type WaymarkSchedule,
} from './waymark.module';
