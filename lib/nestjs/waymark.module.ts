/**
 * `waymark/nestjs`: a Nest module that provides an injectable {@link WorkflowRunner}.
 * `@nestjs/common` is a peer dependency that users of other containers never load.
 */
import { Global, Module, type DynamicModule, type InjectionToken, type ModuleMetadata, type OptionalFactoryDependency } from '@nestjs/common';
import { WorkflowRunner } from '../runner/workflow-runner';
import type { WorkflowRunnerOptions } from '../runner/runner-options';

/** Options of {@link WaymarkModule.forRoot}: the runner's options (storage, concurrency, logger...). */
export type WaymarkModuleOptions = WorkflowRunnerOptions;

/** Options of {@link WaymarkModule.forRootAsync}: build the runner options from other providers. */
export interface WaymarkModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  readonly useFactory: (...args: never[]) => WaymarkModuleOptions | Promise<WaymarkModuleOptions>;
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
}

/** Injection token of the resolved module options. */
export const WAYMARK_MODULE_OPTIONS = Symbol.for('waymark:module-options');

/**
 * Registers one `WorkflowRunner` provider for the whole application (a global module): inject it by
 * its class. Workflows are ordinary `@Injectable()` providers of your own modules.
 */
@Global()
@Module({})
export class WaymarkModule {
  static forRoot(options: WaymarkModuleOptions = {}): DynamicModule {
    return {
      module: WaymarkModule,
      providers: [{ provide: WorkflowRunner, useValue: new WorkflowRunner(options) }],
      exports: [WorkflowRunner],
    };
  }

  static forRootAsync(options: WaymarkModuleAsyncOptions): DynamicModule {
    return {
      module: WaymarkModule,
      imports: options.imports ?? [],
      providers: [
        { provide: WAYMARK_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        { provide: WorkflowRunner, useFactory: (resolved: WaymarkModuleOptions) => new WorkflowRunner(resolved), inject: [WAYMARK_MODULE_OPTIONS] },
      ],
      exports: [WorkflowRunner],
    };
  }
}
