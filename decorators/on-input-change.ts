import { assertInputChangePolicy, type InputChangePolicy } from '../lib/input-change-policy';
import { recordInputChangePolicy, type Constructor } from '../lib/metadata';
import type { WorkflowClassDecorator } from './decorator-mode';

/**
 * Sets what a resumed run of this workflow does when its input changed: `'reuse'` (default),
 * `'reset'`, `'raise'`, or a function deciding per case. An invalid policy throws at decoration.
 */
export function OnInputChange(policy: InputChangePolicy): WorkflowClassDecorator {
  return (target) => {
    assertInputChangePolicy(policy, `@OnInputChange on ${(target as { name?: string }).name ?? 'a class'}`);
    recordInputChangePolicy(target as unknown as Constructor, policy);
  };
}
