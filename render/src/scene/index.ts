/** The browser-safe scene module of @rewardlab/render: what the viewer and the renderer page share. */
export * from './scene3d';
export * from './cameras';
