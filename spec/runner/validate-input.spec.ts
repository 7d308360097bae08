import { expect } from 'chai';
import { IsEmail, IsInt, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';
import { Step, Workflow } from '../../decorators';
import { WorkflowInputError } from '../../lib/errors';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { callLog, spyStorage } from '../helpers/spy-storage';

class Customer {
  @IsEmail() email!: string;
}

class OrderInput {
  @IsString() customerId!: string;
  @IsInt() @Min(1) quantity!: number;
  @IsOptional() @IsString() requestId?: string;
  @ValidateNested() @Type(() => Customer) customer!: Customer;
}

@Workflow({ name: 'validated', input: OrderInput })
class Validated {
  @Step() echo(ctx: StepContext<OrderInput>) {
    return [ctx.input instanceof OrderInput, ctx.input.customer instanceof Customer, ctx.input.quantity];
  }
}

describe('input validation', () => {
  it('lists every violation, property and constraint, before anything is read or written', async () => {
    const storage = spyStorage();
    const error = await new WorkflowRunner({ storage })
      // @ts-expect-error: the compiler refuses a customerId that is not a string too
      .run(new Validated(), { workflowId: 'v', input: { customerId: 7, quantity: 0, customer: { email: 'nope' } } })
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowInputError);
    const violations = (error as WorkflowInputError).violations;
    expect(violations.map((v) => v.property)).to.deep.equal(['customerId', 'quantity', 'customer.email']);
    expect(Object.keys(violations[1].constraints)).to.deep.equal(['min']);
    expect((error as Error).message).to.contain("workflow 'v'").and.contain('OrderInput').and.contain('customer.email');
    expect(callLog(storage)).to.deep.equal([]);
  });

  it('hands steps the input as an instance of the input class', async () => {
    const result = await new WorkflowRunner().run(new Validated(), { workflowId: 'ok', input: { customerId: 'c', quantity: 2, customer: { email: 'a@b.co' } } });
    expect(result.output).to.deep.equal([true, true, 2]);
  });

  it('rejects a non-object input', async () => {
    // @ts-expect-error: the compiler refuses it too
    const error = await new WorkflowRunner().run(new Validated(), { workflowId: 'n', input: 'text' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowInputError);
    expect((error as Error).message).to.contain('expected an object, got string');
    for (const [input, got] of [[null, 'null'], [[1], 'an array'], [5, 'number']] as const) {
      // @ts-expect-error: the compiler refuses them too
      const refused = await new WorkflowRunner().run(new Validated(), { workflowId: 'n', input }).catch((e: unknown) => e);
      expect((refused as Error).message).to.equal(`workflow 'n': input is not a valid OrderInput: expected an object, got ${got}`);
    }
  });

  it('calls an input class without a name the input class', async () => {
    class Nameless {
      @IsInt() n!: number;
    }
    Object.defineProperty(Nameless, 'name', { value: '' });
    @Workflow({ name: 'nameless', input: Nameless })
    class UsesNameless {
      @Step() only() {
        return 1;
      }
    }
    const error = await new WorkflowRunner().run(new UsesNameless(), { workflowId: 'x', input: { n: 'no' } }).catch((e: unknown) => e);
    expect((error as WorkflowInputError).inputClass).to.equal('input class');
  });
});
