/** A VLM reward that cannot be computed as asked (a prompt list, α, an embedding); the message names the field. */
export class VlmRewardError extends Error {
  override name = 'VlmRewardError';
}
