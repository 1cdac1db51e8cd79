/**
 * Every error fedledger raises on purpose carries a stable code and, where it
 * comes from input, the location of the offending input. The CLI maps
 * `UserError`s to exit code 1 and anything else to exit code 2.
 */
export interface InputLocation {
  /** Source message or file the input came from. */
  message?: string;
  /** 1-based record index within the message. */
  record?: number;
  /** 1-based line number within the message. */
  line?: number;
  field?: string;
}

export class FedledgerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly location: InputLocation = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input or a bad invocation: the user can fix it. */
export class UserError extends FedledgerError {}
