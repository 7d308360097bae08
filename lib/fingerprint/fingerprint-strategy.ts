/** Turns a run's input into a stable fingerprint string, identical across processes and machines. */
export interface FingerprintStrategy {
  /** Fingerprint of `input`. Throw `UnfingerprintableInputError` for input it cannot hash faithfully. */
  fingerprint(input: unknown): string | Promise<string>;
}
