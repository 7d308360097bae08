/** An answer of the dashboard's API other than 200, with a code like the errors' and a message saying what to do. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
