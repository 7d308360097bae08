/**
 * `waymark/nestjs`: a Nest module that provides an injectable {@link WorkflowRunner} and, when asked,
 * a {@link WorkflowWorker} that starts with the application and stops gracefully with it.
 * `@nestjs/common` is a peer dependency that users of other containers never load.
 */
import {
  Global,
  Inject,
  Injectable,
  Module,
  Optional,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OptionalFactoryDependency,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InvalidOptionError } from '../errors';
import { buildGraph } from '../graph';
import type { Constructor } from '../metadata';
import { WorkflowRunner } from '../runner/workflow-runner';
import type { WorkflowRunnerOptions } from '../runner/runner-options';
import { WorkflowWorker, type ScheduleOptions, type WorkflowWorkerOptions } from '../worker/workflow-worker';

/** A schedule of the module's worker: the workflow class and its {@link ScheduleOptions}. */
export interface WaymarkSchedule extends ScheduleOptions {
  readonly workflow: Constructor;
}

/** Options of the module's worker. */
export interface WaymarkWorkerOptions extends Omit<WorkflowWorkerOptions, 'runner'> {
  /** Cron schedules the worker fires. */
  readonly schedules?: readonly WaymarkSchedule[];
  /** How long running workflows may take to finish when the application shuts down, in ms; default 30,000. */
  readonly stopDeadlineMs?: number;
}

/**
 * Options of {@link WaymarkModule.forRoot}: the runner's options (storage, concurrency, logger...),
 * with `workflows` as classes that Nest builds (they must be providers of your modules), and a
 * `worker` to run with the application.
 */
export interface WaymarkModuleOptions extends Omit<WorkflowRunnerOptions, 'workflows'> {
  /** Workflow classes the runner (and worker) may resume by id, resolved from Nest's container. */
  readonly workflows?: readonly Constructor[];
  /** Starts a {@link WorkflowWorker} at application bootstrap and stops it at shutdown (`app.enableShutdownHooks()` for signals). */
  readonly worker?: WaymarkWorkerOptions;
}

/** Options of {@link WaymarkModule.forRootAsync}: build the module options from other providers. */
export interface WaymarkModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  readonly useFactory: (...args: never[]) => WaymarkModuleOptions | Promise<WaymarkModuleOptions>;
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
}

/** Injection token of the resolved module options. */
export const WAYMARK_MODULE_OPTIONS = Symbol.for('waymark:module-options');

/** The runner, its workflow classes resolved by name from Nest's container. */
function createRunner(options: WaymarkModuleOptions, moduleRef: ModuleRef): WorkflowRunner {
  const { workflows, worker: _worker, ...runnerOptions } = options;
  if (workflows === undefined) return new WorkflowRunner(runnerOptions);
  if (!Array.isArray(workflows)) throw new InvalidOptionError('WaymarkModule workflows', workflows, 'an array of workflow classes');
  // By name, then version: several versions of one workflow side by side, the newest for new runs.
  const byName = new Map<string, Map<number, Constructor>>();
  for (const target of workflows) {
    const { workflowName, version } = buildGraph(target);
    byName.set(workflowName, (byName.get(workflowName) ?? new Map<number, Constructor>()).set(version, target));
  }
  return new WorkflowRunner({ ...runnerOptions, workflows: (name, version) => {
    const versions = byName.get(name);
    const target = versions?.get(version ?? Math.max(...versions.keys()));
    return target === undefined ? undefined : (moduleRef.get(target as never, { strict: false }) as object);
  } });
}

/** Builds the worker when the options ask for one (else provides null). */
function createWorker(options: WaymarkModuleOptions, runner: WorkflowRunner): WorkflowWorker | null {
  if (options.worker === undefined) return null;
  const { schedules = [], stopDeadlineMs: _deadline, ...workerOptions } = options.worker;
  const worker = new WorkflowWorker({ ...workerOptions, runner });
  for (const { workflow, ...schedule } of schedules) worker.schedule(workflow, schedule);
  return worker;
}

/** Starts the module's worker with the application and stops it gracefully at shutdown. */
@Injectable()
export class WaymarkWorkerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Optional() @Inject(WorkflowWorker) private readonly worker: WorkflowWorker | null,
    @Inject(WAYMARK_MODULE_OPTIONS) private readonly options: WaymarkModuleOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.worker?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.stop({ deadlineMs: this.options.worker?.stopDeadlineMs ?? 30_000 });
  }
}

function providers(): DynamicModule['providers'] {
  return [
    { provide: WorkflowRunner, useFactory: createRunner, inject: [WAYMARK_MODULE_OPTIONS, ModuleRef] },
    { provide: WorkflowWorker, useFactory: createWorker, inject: [WAYMARK_MODULE_OPTIONS, WorkflowRunner] },
    WaymarkWorkerLifecycle,
  ];
}

/**
 * Registers one `WorkflowRunner` provider for the whole application (a global module), and a
 * `WorkflowWorker` when `worker` is given (null otherwise): inject them by their classes. Workflows
 * are ordinary `@Injectable()` providers of your own modules.
 */
@Global()
@Module({})
export class WaymarkModule {
  static forRoot(options: WaymarkModuleOptions = {}): DynamicModule {
    return {
      module: WaymarkModule,
      providers: [{ provide: WAYMARK_MODULE_OPTIONS, useValue: options }, ...providers()!],
      exports: [WorkflowRunner, WorkflowWorker],
    };
  }

  static forRootAsync(options: WaymarkModuleAsyncOptions): DynamicModule {
    return {
      module: WaymarkModule,
      imports: options.imports ?? [],
      providers: [{ provide: WAYMARK_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }, ...providers()!],
      exports: [WorkflowRunner, WorkflowWorker],
    };
  }
}
