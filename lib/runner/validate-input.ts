/**
 * Validates a run's input against its `@Workflow({ input })` class with class-validator, before
 * anything is read or written. class-validator and class-transformer are optional peer dependencies,
 * loaded only by workflows that declare an input class.
 */
import { WorkflowInputError, type InputViolation } from '../errors';
import type { Constructor } from '../metadata';

interface ValidationErrorLike {
  property: string;
  constraints?: Record<string, string>;
  children?: ValidationErrorLike[];
}

function load<T>(name: string, workflowId: string, inputClass: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (error) {
    throw new WorkflowInputError(workflowId, inputClass, [], `@Workflow({ input }) needs the '${name}' package installed (${(error as Error).message})`);
  }
}

function flatten(errors: readonly ValidationErrorLike[], prefix: string, out: InputViolation[]): InputViolation[] {
  for (const error of errors) {
    const property = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints && Object.keys(error.constraints).length > 0) out.push({ property, constraints: { ...error.constraints } });
    if (error.children?.length) flatten(error.children, property, out);
  }
  return out;
}

/** The input as an instance of `inputClass`, or {@link WorkflowInputError} listing every violation. */
export async function validateInput(workflowId: string, inputClass: Constructor, input: unknown): Promise<unknown> {
  const name = inputClass.name || 'input class';
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new WorkflowInputError(workflowId, name, [], `expected an object, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`);
  }
  const { plainToInstance } = load<{ plainToInstance: (cls: Constructor, plain: object) => object }>('class-transformer', workflowId, name);
  const { validate } = load<{ validate: (o: object, options?: object) => Promise<ValidationErrorLike[]> }>('class-validator', workflowId, name);
  const instance = input instanceof inputClass ? input : plainToInstance(inputClass, input);
  const errors = await validate(instance, { forbidUnknownValues: true });
  const violations = flatten(errors, '', []);
  if (violations.length > 0) throw new WorkflowInputError(workflowId, name, violations);
  return instance;
}
