/** What the frame renderer throws: bad input (the caller's to fix), or a renderer that is missing or died. */

/** A request the renderer cannot draw: an unknown camera, a bad size, states of another env. Nothing was rendered. */
export class RenderInputError extends Error {
  override name = 'RenderInputError';
}

/** The renderer cannot start: no browser at the configured path, or it did not come up. */
export class RendererUnavailableError extends Error {
  override name = 'RendererUnavailableError';
}

/**
 * The renderer's browser died or stopped answering while a batch was in flight. The batch is lost;
 * the next `render` call starts a new browser and carries on.
 */
export class RendererCrashedError extends Error {
  override name = 'RendererCrashedError';
}
