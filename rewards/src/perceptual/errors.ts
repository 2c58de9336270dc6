/** The Inception network cannot be found or loaded; the message names the path that failed. */
export class PerceptualModelError extends Error {
  override name = 'PerceptualModelError';
}

/**
 * A perceptual reward that cannot be computed or read as asked (step counts, feature arrays, a saved
 * model file); the message names the argument, demo, field or file.
 */
export class PerceptualRewardError extends Error {
  override name = 'PerceptualRewardError';
}
