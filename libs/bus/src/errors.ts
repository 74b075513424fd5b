/** A message Berth itself was about to publish does not match its contract: a bug, not input. */
export class ContractViolationError extends Error {
  override readonly name = 'ContractViolationError';
  readonly code = 'BERTH_BUS_CONTRACT_VIOLATION';
  constructor(
    readonly schemaId: string,
    readonly problems: readonly string[],
  ) {
    super(`refusing to publish a ${schemaId} that breaks its contract: ${problems.join('; ')}`);
  }
}
