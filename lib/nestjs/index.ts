export { WaymarkModule, WAYMARK_MODULE_OPTIONS, type WaymarkModuleOptions, type WaymarkModuleAsyncOptions } from './waymark.module';
