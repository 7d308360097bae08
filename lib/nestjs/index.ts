export {
  WaymarkModule,
  WaymarkWorkerLifecycle,
  WAYMARK_MODULE_OPTIONS,
  type WaymarkModuleOptions,
  type WaymarkModuleAsyncOptions,
  type WaymarkWorkerOptions,
  type WaymarkSchedule,
} from './waymark.module';
