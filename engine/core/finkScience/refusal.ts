/** A module Fink cannot run as declared: the message says why in one line (no stack trace is useful). */
export class FinkScienceRefusal extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FinkScienceRefusal';
  }
}
