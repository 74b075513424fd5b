/** Why the rig could not give a test the server it asked for. */
export class RigError extends Error {
  override readonly name = 'RigError';
  constructor(
    message: string,
    readonly code:
      | 'RIG_MISSING_TOOL'
      | 'RIG_SPAWN_FAILED'
      | 'RIG_SERVER_DIED'
      | 'RIG_SERVER_TIMEOUT'
      | 'RIG_NOT_BUILT'
      | 'RIG_NEEDS_ROOT'
      | 'RIG_COMMAND_FAILED'
      | 'RIG_BAD_OPTION'
      /** Servers the rig runs disagree, or are not as it set them up. */
      | 'RIG_BAD_STATE',
  ) {
    super(message);
  }
}
