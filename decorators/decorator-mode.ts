/** Which decorator mode called a decorator: TC39 standard decorators pass a context object as the second argument. */
export function isStandardContext(value: unknown): value is DecoratorContext {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

/**
 * What the class decorators (`@Workflow`, `@OnInputChange`, `@Fingerprint`) return: callable as a
 * legacy class decorator (`target`) and as a standard one (`target, context`). Both receive the class
 * itself, so they record the same metadata either way.
 */
export type WorkflowClassDecorator = (target: abstract new (...args: never[]) => unknown, context?: ClassDecoratorContext) => void;
